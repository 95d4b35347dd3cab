"""HTML form bodies (application/x-www-form-urlencoded), read without python-multipart."""

from __future__ import annotations

from urllib.parse import parse_qsl

from fastapi import HTTPException, Request

MAX_FORM_BYTES = 64 * 1024


async def read_form(request: Request) -> dict[str, list[str]]:
    """The form's fields (a name may repeat: a list of studies); read once, cached."""
    cached = getattr(request.state, "form", None)
    if isinstance(cached, dict):
        return cached
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind != "application/x-www-form-urlencoded":
        raise HTTPException(415, "send the form as application/x-www-form-urlencoded")
    body = await request.body()
    if len(body) > MAX_FORM_BYTES:
        raise HTTPException(413, f"the form is larger than {MAX_FORM_BYTES} bytes")
    try:
        pairs = parse_qsl(body.decode("utf-8"), max_num_fields=500, strict_parsing=False)
    except (UnicodeDecodeError, ValueError):
        raise HTTPException(
            400, "the form could not be read; reload the page and try again"
        ) from None
    fields: dict[str, list[str]] = {}
    for name, value in pairs:
        fields.setdefault(name, []).append(value)
    request.state.form = fields
    return fields


def field(fields: dict[str, list[str]], name: str) -> str:
    values = fields.get(name)
    return values[0] if values else ""

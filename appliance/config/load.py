"""Load, check and render the TOML configuration; turn schema errors into sentences."""

from __future__ import annotations

import difflib
import tomllib
from pathlib import Path
from typing import Any

import tomli_w
from pydantic import BaseModel, SecretStr, ValidationError

from appliance.config.schema import AE_TITLE_PATTERN, UID_PATTERN, KilnConfig

MASK = "********"


class ConfigError(Exception):
    """The configuration cannot be used; `problems` are one sentence each."""

    def __init__(self, source: str, problems: list[str]) -> None:
        self.source = source
        self.problems = problems
        super().__init__(f"{source}: " + "; ".join(problems))


def _model_at(loc: tuple[int | str, ...]) -> type[BaseModel] | None:
    """The schema model that owns the key at `loc`, to suggest its valid keys."""
    model: Any = KilnConfig
    for part in loc[:-1]:
        fields = getattr(model, "model_fields", {})
        field = fields.get(str(part))
        if field is None:
            return None
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            model = annotation
        elif getattr(annotation, "__origin__", None) is dict:
            model = annotation.__args__[1]
            # The next part is the free-form dict key; skip it.
            return model if len(loc) >= 3 else None
        else:
            return None
    return model if isinstance(model, type) and issubclass(model, BaseModel) else None


def _where(loc: tuple[int | str, ...]) -> str:
    """`[section] key` with list positions kept on the key: `[dicom] ae_titles[0]`."""
    names: list[str] = []
    for part in loc:
        if isinstance(part, int) and names:
            names[-1] += f"[{part}]"
        else:
            names.append(str(part))
    if len(names) <= 1:
        return f"[{names[0]}]" if names else "(file)"
    return f"[{'.'.join(names[:-1])}] {names[-1]}"


_PATTERNS = {
    AE_TITLE_PATTERN: "must be an AE title: 1 to 16 characters, no backslash or control codes",
    UID_PATTERN: "must be a UID: digits separated by single dots",
}


def _sentence(error: Any) -> str:
    loc: tuple[int | str, ...] = tuple(error["loc"])
    kind = error["type"]
    if kind == "extra_forbidden":
        owner = _model_at(loc)
        valid = sorted(owner.model_fields) if owner else []
        hint = difflib.get_close_matches(str(loc[-1]), valid, n=1)
        text = f"{_where(loc)}: unknown {'section' if len(loc) == 1 else 'key'}"
        if hint:
            text += f"; did you mean '{hint[0]}'?"
        elif valid:
            text += f"; valid keys are {', '.join(valid)}"
        return text
    ctx = error.get("ctx") or {}
    limits = {
        "less_than_equal": f"must be at most {ctx.get('le')}",
        "greater_than_equal": f"must be at least {ctx.get('ge')}",
        "greater_than": f"must be more than {ctx.get('gt')}",
        "less_than": f"must be less than {ctx.get('lt')}",
        "too_short": f"needs at least {ctx.get('min_length')} item(s) or character(s)",
        "too_long": f"allows at most {ctx.get('max_length')} item(s) or character(s)",
        "string_too_short": f"needs at least {ctx.get('min_length')} character(s)",
        "string_too_long": f"allows at most {ctx.get('max_length')} character(s)",
    }
    message = limits.get(kind, error["msg"])
    if kind == "string_pattern_mismatch":
        message = _PATTERNS.get(str(ctx.get("pattern")), message)
    value = error.get("input")
    shown = "" if isinstance(value, dict) else f" (got {value!r})"
    return f"{_where(loc)}: {message}{shown}"


def parse_config(data: dict[str, Any], source: str, base_dir: Path) -> KilnConfig:
    try:
        config = KilnConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(source, [_sentence(e) for e in exc.errors()]) from None
    data_dir = config.box.data_dir
    if not data_dir.is_absolute():
        data_dir = (base_dir / data_dir).resolve()
    return config.model_copy(update={"box": config.box.model_copy(update={"data_dir": data_dir})})


def load_config(path: Path | None) -> KilnConfig:
    """Read `path` (or the built-in defaults when None; relative paths then use the cwd)."""
    if path is None:
        return parse_config({}, "(defaults)", Path.cwd())
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(str(path), [f"cannot read the file: {exc.strerror}"]) from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(str(path), [f"not valid TOML: {exc}"]) from None
    return parse_config(data, str(path), path.resolve().parent)


def _plain(value: Any) -> Any:
    if isinstance(value, SecretStr):
        return MASK if value.get_secret_value() else ""
    if isinstance(value, BaseModel):
        value = value.__dict__
    if isinstance(value, dict):
        # TOML has no null: an unset optional section is simply left out.
        return {k: _plain(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    if hasattr(value, "value") and isinstance(value.value, str):
        return value.value
    return value


def render_config(config: KilnConfig) -> str:
    """The effective configuration as TOML, secrets masked."""
    return tomli_w.dumps(_plain(config))

"""Label templates: TOML files of placed elements (text, a study list, a logo).

Validated strictly when loaded: an unknown key, a bad value or an unknown field is an error
that names the template, the element and the key. Positions are millimetres from the disc's
centre, x to the right and y downwards, or a radius and an angle clockwise from 12 o'clock.
"""

from __future__ import annotations

import difflib
import math
import tomllib
from enum import StrEnum
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal

from PIL import Image, UnidentifiedImageError
from pydantic import Field, ValidationError, ValidationInfo, field_validator, model_validator

from appliance.labels.errors import LabelError, LabelProblem
from appliance.labels.fields import Expression, Scope, parse
from appliance.labels.fonts import FontFamily
from appliance.strict_model import Strict

BUILTIN_TEMPLATES = ("patient", "anonymised", "minimal")
MORE_FIELD = "more"  # in a study list's `more` line: how many studies were left out

Colour = Annotated[str, Field(pattern=r"^#[0-9a-fA-F]{6}$")]
Millimetres = Annotated[float, Field(ge=-65.0, le=65.0)]
Points = Annotated[float, Field(ge=3.0, le=72.0)]


class Align(StrEnum):
    LEFT = "left"
    CENTER = "center"
    RIGHT = "right"


class _Placed(Strict):
    id: str = Field("", max_length=64)  # a name for messages; optional
    x: Millimetres | None = None
    y: Millimetres | None = None
    radius: Annotated[float, Field(ge=0.0, le=65.0)] | None = None
    angle: Annotated[float, Field(ge=-360.0, le=360.0)] | None = None

    @model_validator(mode="after")
    def _one_position(self) -> _Placed:
        cartesian = self.x is not None or self.y is not None
        polar = self.radius is not None or self.angle is not None
        if cartesian and polar:
            raise ValueError("give x and y, or radius and angle, not both")
        if cartesian and (self.x is None or self.y is None):
            raise ValueError("x and y go together")
        if polar and (self.radius is None or self.angle is None):
            raise ValueError("radius and angle go together")
        if not cartesian and not polar:
            raise ValueError("needs a position: x and y, or radius and angle (mm, degrees)")
        return self

    def position_mm(self) -> tuple[float, float]:
        """(x, y) from the centre, y downwards."""
        if self.radius is not None and self.angle is not None:
            turn = math.radians(self.angle)
            return self.radius * math.sin(turn), -self.radius * math.cos(turn)
        assert self.x is not None and self.y is not None
        return self.x, self.y


class _Styled(_Placed):
    size: Points = 10.0
    min_size: Points = 6.0  # text is shrunk down to this, then cut short with "…"
    font: FontFamily = FontFamily.SANS
    bold: bool = False
    colour: Colour = "#000000"
    align: Align = Align.CENTER
    max_width: Annotated[float, Field(gt=0.0, le=130.0)] | None = None  # mm

    @model_validator(mode="after")
    def _sizes(self) -> _Styled:
        if self.min_size > self.size:
            raise ValueError(f"min_size ({self.min_size}) is larger than size ({self.size})")
        return self


class TextElement(_Styled):
    type: Literal["text"]
    text: str = Field(max_length=500)
    curved: bool = False  # along the circle of `radius`, centred on `angle`
    span: Annotated[float, Field(gt=0.0, le=350.0)] = 150.0  # degrees curved text may use

    @field_validator("text")
    @classmethod
    def _fields(cls, value: str) -> str:
        parse(value, Scope.DISC)
        return value

    @model_validator(mode="after")
    def _curve_needs_radius(self) -> TextElement:
        if self.curved and self.radius is None:
            raise ValueError("curved text needs radius and angle, not x and y")
        return self

    def expression(self) -> Expression:
        return parse(self.text, Scope.DISC)


class StudiesElement(_Styled):
    """One line per study (all patients' studies, in order), stacked downwards from y."""

    type: Literal["studies"]
    line: str = Field("{date}  {modalities}  {description}", max_length=500)
    more: str = Field("+{more} more", max_length=200)
    max_lines: int = Field(4, ge=1, le=20)  # the last one says "+k more" when cut
    spacing: float = Field(1.2, ge=1.0, le=3.0)  # line pitch, in multiples of the size
    align: Align = Align.LEFT

    @field_validator("line")
    @classmethod
    def _line_fields(cls, value: str) -> str:
        parse(value, Scope.STUDY)
        return value

    @field_validator("more")
    @classmethod
    def _more_fields(cls, value: str) -> str:
        parse(value, Scope.STUDY, extra=(MORE_FIELD,))
        return value

    def line_expression(self) -> Expression:
        return parse(self.line, Scope.STUDY)

    def more_expression(self) -> Expression:
        return parse(self.more, Scope.STUDY, extra=(MORE_FIELD,))


class ImageElement(_Placed):
    """A logo (PNG, JPEG...), centred on its position, `width` mm wide."""

    type: Literal["image"]
    path: str = Field(min_length=1)  # relative to the template's folder
    width: Annotated[float, Field(gt=0.0, le=120.0)]
    height: Annotated[float, Field(gt=0.0, le=120.0)] | None = None  # default: keeps aspect

    @field_validator("path")
    @classmethod
    def _readable_image(cls, value: str, info: ValidationInfo) -> str:
        base = (info.context or {}).get("base_dir")
        path = Path(value) if base is None else Path(base) / value
        try:
            with Image.open(path) as image:
                image.verify()
        except (OSError, UnidentifiedImageError) as exc:
            raise ValueError(f"cannot read the image {str(path)!r}: {exc}") from None
        return str(path.resolve())


Element = Annotated[TextElement | StudiesElement | ImageElement, Field(discriminator="type")]


class LabelTemplate(Strict):
    name: str = Field(min_length=1, max_length=64)
    description: str = ""
    background: Colour | None = None  # fills the printable ring; none: no ink
    # false: a template for anonymised copies; a field that shows who the patient is
    # (name, ID, birth date, accession number) is refused when it is loaded.
    identifying: bool = True
    elements: list[Element] = Field(alias="element", min_length=1, max_length=64)

    @model_validator(mode="after")
    def _nothing_identifying(self) -> LabelTemplate:
        if self.identifying:
            return self
        for number, element in enumerate(self.elements, start=1):
            for key, expression in _expressions(element):
                shown = expression.identifying
                if shown:
                    raise ValueError(
                        f"{_element_name(number, element)}, key '{key}': "
                        f"{{{shown[0]}}} shows who the patient is, and this template has "
                        "identifying = false"
                    )
        return self


def _expressions(
    element: TextElement | StudiesElement | ImageElement,
) -> list[tuple[str, Expression]]:
    if isinstance(element, TextElement):
        return [("text", element.expression())]
    if isinstance(element, StudiesElement):
        return [("line", element.line_expression()), ("more", element.more_expression())]
    return []


def _element_name(number: int, element: Any) -> str:
    label = f" '{element.id}'" if getattr(element, "id", "") else ""
    return f"element {number}{label} ({element.type})"


def parse_template(
    text: str, *, name: str, source: str = "", base_dir: Path | None = None
) -> LabelTemplate:
    """A template from TOML text; `source` (a file name) and `name` go into error messages."""
    where = f"label template '{name}'" + (f" ({source})" if source else "")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise LabelError(LabelProblem.BAD_TEMPLATE, f"{where}: not valid TOML: {exc}") from None
    data.setdefault("name", name)
    try:
        return LabelTemplate.model_validate(data, context={"base_dir": base_dir})
    except ValidationError as exc:
        problems = [_sentence(error, data) for error in exc.errors()]
        raise LabelError(
            LabelProblem.BAD_TEMPLATE, f"{where}: " + "; ".join(problems[:3])
        ) from None


def load_template(ref: str, *, template_dir: Path | None = None) -> LabelTemplate:
    """A built-in template by name ("patient", "anonymised", "minimal") or a TOML file
    (relative paths from `template_dir`)."""
    if ref in BUILTIN_TEMPLATES:
        text = (
            resources.files("appliance.labels")
            .joinpath("templates")
            .joinpath(f"{ref}.toml")
            .read_text(encoding="utf-8")
        )
        return parse_template(text, name=ref, source=f"built-in {ref}.toml")
    path = Path(ref)
    if not path.is_absolute() and template_dir is not None:
        path = template_dir / path
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise LabelError(
            LabelProblem.UNKNOWN_TEMPLATE,
            f"no label template {ref!r}: not a built-in ({', '.join(BUILTIN_TEMPLATES)}) "
            f"and no file {str(path)!r}",
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise LabelError(
            LabelProblem.BAD_TEMPLATE, f"label template {str(path)!r} cannot be read: {exc}"
        ) from None
    return parse_template(text, name=path.stem, source=str(path), base_dir=path.parent)


_KINDS: dict[str, type[Strict]] = {
    "text": TextElement,
    "studies": StudiesElement,
    "image": ImageElement,
}


def _sentence(error: Any, data: dict[str, Any]) -> str:
    loc: tuple[int | str, ...] = tuple(error["loc"])
    kind = error["type"]
    ctx = error.get("ctx") or {}
    plain = {
        "missing": "is required",
        "less_than_equal": f"must be at most {ctx.get('le')}",
        "greater_than_equal": f"must be at least {ctx.get('ge')}",
        "greater_than": f"must be more than {ctx.get('gt')}",
        "too_short": f"needs at least {ctx.get('min_length')} item(s)",
        "too_long": f"allows at most {ctx.get('max_length')} item(s)",
        "string_too_long": f"allows at most {ctx.get('max_length')} characters",
        "string_pattern_mismatch": "must be a colour written #rrggbb",
    }
    message = plain.get(kind, str(error["msg"]).removeprefix("Value error, "))
    prefix = ""
    keys: tuple[int | str, ...] = loc
    model: type[Strict] = LabelTemplate
    if len(loc) >= 2 and loc[0] == "element" and isinstance(loc[1], int):
        number = loc[1] + 1
        raw = data.get("element", [])
        element = raw[loc[1]] if isinstance(raw, list) and loc[1] < len(raw) else {}
        element = element if isinstance(element, dict) else {}
        tag = element.get("type", "")
        ident = element.get("id", "")
        prefix = (
            f"element {number}"
            + (f" '{ident}'" if ident else "")
            + (f" ({tag})" if tag in _KINDS else "")
        )
        keys = loc[3:] if len(loc) > 2 and loc[2] in _KINDS else loc[2:]
        model = _KINDS.get(str(tag), LabelTemplate)
        if kind in {"union_tag_invalid", "union_tag_not_found"}:
            message = f"key 'type' must be one of {', '.join(_KINDS)}"
    if kind == "extra_forbidden" and keys:
        hint = difflib.get_close_matches(str(keys[-1]), [str(k) for k in _keys(model)], n=1)
        message = "unknown key" + (
            f"; did you mean '{hint[0]}'?" if hint else f"; keys are {', '.join(_keys(model))}"
        )
    key = ".".join(str(k) for k in keys)
    parts = [p for p in (prefix, f"key '{key}'" if key else "") if p]
    return ", ".join(parts) + (": " if parts else "") + message


def _keys(model: type[Strict]) -> list[str]:
    return [field.alias or name for name, field in model.model_fields.items()]

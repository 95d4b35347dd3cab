"""Disc label artwork: templates of DICOM fields drawn on the disc's printable ring.

    template = load_template("patient")            # or a TOML file of your own
    render_label(template, fileset.labels, DiscGeometry(), fmt=LabelFormat.PNG, out=path)

docs/labels.md is the template reference.
"""

from appliance.labels.errors import LabelError, LabelProblem
from appliance.labels.fonts import FontFamily, FontLibrary
from appliance.labels.geometry import DiscGeometry
from appliance.labels.output import LabelFormat
from appliance.labels.render import check_layout, render_image, render_label
from appliance.labels.template import (
    BUILTIN_TEMPLATES,
    LabelTemplate,
    load_template,
    parse_template,
)

__all__ = [
    "BUILTIN_TEMPLATES",
    "DiscGeometry",
    "FontFamily",
    "FontLibrary",
    "LabelError",
    "LabelFormat",
    "LabelProblem",
    "LabelTemplate",
    "check_layout",
    "load_template",
    "parse_template",
    "render_image",
    "render_label",
]

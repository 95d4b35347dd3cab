"""Label artwork for the discs of a job: the profile's template rendered with the disc's
label data on the robot printer's geometry ([publishing] label), as PNG beside the image.

"default" is the `patient` template, or `anonymised` for anonymised copies (which must not
print the patient's identity). Any other name is a built-in template or NAME.toml in
[publishing] label_dir. A template that cannot be used fails the job's preparation with a
sentence, before any disc is touched.
"""

from __future__ import annotations

from pathlib import Path

from appliance.labels import LabelError, LabelFormat, load_template, render_label
from appliance.labels.template import BUILTIN_TEMPLATES
from appliance.media.copies import CopyType
from appliance.media.labels import LabelData
from appliance.media.profiles import Medium
from appliance.publishing.planner import PrepareFailed, RenderLabel
from appliance.publishing.settings import PublishingSettings

DEFAULT = "default"


def template_ref(name: str, copy_type: CopyType) -> str:
    if name == DEFAULT:
        return "anonymised" if copy_type is CopyType.ANONYMISED else "patient"
    return name if name in BUILTIN_TEMPLATES else f"{name}.toml"


def template_problems(settings: PublishingSettings) -> list[str]:
    """Every profile's label template loaded and laid out on [publishing.label]: for
    `appliance config check`, so a job never finds a broken template at print time."""
    from appliance.labels import check_layout

    problems = []
    for name, profile in settings.profiles.items():
        copy_types = [c for c in CopyType if profile.copies.count(c)]
        for ref in sorted({template_ref(profile.label_template, c) for c in copy_types}):
            try:
                check_layout(load_template(ref, template_dir=settings.label_dir), settings.label)
            except LabelError as error:
                problems.append(f"[publishing.profiles.{name}] label_template: {error.message}")
    return problems


def label_renderer(settings: PublishingSettings) -> RenderLabel:
    def render(label: LabelData, template: str, medium: Medium, folder: Path) -> Path:
        ref = template_ref(template, label.copy_type)
        out = folder / f"label-{label.copy_type.value}-{label.volume}of{label.volumes}.png"
        try:
            loaded = load_template(ref, template_dir=settings.label_dir)
            return render_label(loaded, label, settings.label, fmt=LabelFormat.PNG, out=out)
        except LabelError as error:
            raise PrepareFailed(
                f"The disc label cannot be made: {error.message}. No disc was burned; fix "
                "the template (appliance config check) and retry the job."
            ) from None

    return render

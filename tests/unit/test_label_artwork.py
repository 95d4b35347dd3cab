"""Label artwork for a job's discs: which template a profile's name means, drawing it, and
`appliance config check` finding a broken template before any job does."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from appliance.media.copies import CopyType
from appliance.media.labels import LabelData, LabelPatient, LabelStudy
from appliance.media.profiles import Medium
from appliance.publishing.label_artwork import label_renderer, template_problems, template_ref
from appliance.publishing.planner import PrepareFailed
from appliance.publishing.settings import PublishingSettings


def data(copy_type: CopyType) -> LabelData:
    study = LabelStudy("2026-12-03", "10:00", ("CT",), "Head", "A1", 60)
    patient = LabelPatient("Müller, Jürgen", "Müller^Jürgen", "P1", "1970-01-01", "M", (study,))
    return LabelData((patient,), "Clinic", 1, 1, copy_type, "KILN", "STD-GEN-CD")


def test_default_means_patient_or_anonymised_by_copy_type() -> None:
    assert template_ref("default", CopyType.PATIENT) == "patient"
    assert template_ref("default", CopyType.PHYSICIAN) == "patient"
    assert template_ref("default", CopyType.ANONYMISED) == "anonymised"
    assert template_ref("minimal", CopyType.PATIENT) == "minimal"
    assert template_ref("ward", CopyType.PATIENT) == "ward.toml"


@pytest.mark.parametrize("copy_type", list(CopyType))
def test_the_default_template_is_drawn_for_every_copy_type(
    tmp_path: Path, copy_type: CopyType
) -> None:
    render = label_renderer(PublishingSettings())
    out = render(data(copy_type), "default", Medium.CD, tmp_path)
    assert out is not None and out.suffix == ".png"
    with Image.open(out) as image:
        assert image.size[0] == image.size[1] > 1000  # 120 mm at 300 dpi
        assert image.getbbox() is not None  # something was drawn


def test_a_template_that_cannot_be_used_fails_preparation_with_a_sentence(
    tmp_path: Path,
) -> None:
    render = label_renderer(PublishingSettings(label_dir=tmp_path))
    with pytest.raises(PrepareFailed) as failed:
        render(data(CopyType.PATIENT), "nowhere", Medium.CD, tmp_path)
    assert "The disc label cannot be made" in failed.value.sentence
    assert "No disc was burned" in failed.value.sentence
    assert list(tmp_path.iterdir()) == []


def test_config_check_names_the_profile_with_a_broken_template(tmp_path: Path) -> None:
    assert template_problems(PublishingSettings()) == []
    (tmp_path / "ward.toml").write_text('[[element]]\ntype = "text"\ntext = "{patient.nmae}"\n')
    settings = PublishingSettings.model_validate(
        {"label_dir": str(tmp_path), "profiles": {"ward": {"label_template": "ward"}}}
    )
    problems = template_problems(settings)
    assert len(problems) == 1
    assert problems[0].startswith("[publishing.profiles.ward] label_template:")
    assert "patient.name" in problems[0]  # the nearest field is suggested

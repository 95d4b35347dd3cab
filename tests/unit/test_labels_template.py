"""Label templates: every field resolves, bad templates are refused at load with the
template, element and key named, built-in templates load."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from appliance.labels.errors import LabelError, LabelProblem
from appliance.labels.fields import DISC_FIELDS, STUDY_FIELDS, Scope, parse
from appliance.labels.template import (
    BUILTIN_TEMPLATES,
    ImageElement,
    TextElement,
    load_template,
    parse_template,
)
from appliance.media.copies import CopyType
from appliance.media.labels import LabelData, LabelPatient, LabelStudy

CT = LabelStudy("2026-01-11", "10:15", ("CT", "SR"), "CT Thorax", "ACC1", 120)
MR = LabelStudy("2026-02-12", "08:05", ("MR",), "MR Knee", "ACC2", 300)
DATA = LabelData(
    (LabelPatient("Doe, Jane", "Doe^Jane", "PID7", "1961-02-03", "F", (CT, MR)),),
    "General Hospital",
    2,
    3,
    CopyType.PHYSICIAN,
    "KILN_01",
    "STD-GEN-DVD-JPEG",
)

DISC_EXPECTED = {
    "patient.name": "Doe, Jane",
    "patient.name_dicom": "Doe^Jane",
    "patient.id": "PID7",
    "patient.birth_date": "1961-02-03",
    "patient.sex": "F",
    "patients": "1",
    "study_count": "2",
    "modalities": "CT/SR/MR",
    "institution": "General Hospital",
    "volume": "2",
    "volumes": "3",
    "volume_text": "2 of 3",
    "copy_type": "Physician copy",
    "copy_type.code": "physician",
    "file_set_id": "KILN_01",
    "profile": "STD-GEN-DVD-JPEG",
}
STUDY_EXPECTED = {
    "date": "2026-02-12",
    "time": "08:05",
    "modalities": "MR",
    "description": "MR Knee",
    "accession_number": "ACC2",
    "instances": "300",
}


def test_every_disc_field_resolves() -> None:
    assert set(DISC_EXPECTED) == set(DISC_FIELDS)
    for name, value in DISC_EXPECTED.items():
        assert parse(f"<{{{name}}}>", Scope.DISC).render(DATA) == f"<{value}>", name


def test_every_study_field_resolves_by_index_and_in_a_study_list() -> None:
    assert set(STUDY_EXPECTED) == set(STUDY_FIELDS)
    for name, value in STUDY_EXPECTED.items():
        assert parse(f"{{studies[1].{name}}}", Scope.DISC).render(DATA) == value, name
        assert parse(f"{{{name}}}", Scope.STUDY).render_study(MR) == value, name


def test_a_study_that_is_not_there_is_empty_and_no_patient_is_empty() -> None:
    assert parse("[{studies[5].date}]", Scope.DISC).render(DATA) == "[]"
    empty = LabelData((), "", 1, 1, CopyType.PATIENT, "", "")
    assert parse("[{patient.name}|{modalities}]", Scope.DISC).render(empty) == "[|]"


def test_braces_are_escaped_and_control_characters_become_spaces() -> None:
    assert parse("{{x}} {volume}", Scope.DISC).render(DATA) == "{x} 2"
    odd = LabelData(
        (LabelPatient("Doe\r\nJane\x1b", "", "", "", "", ()),), "", 1, 1, CopyType.PATIENT, "", ""
    )
    assert parse("{patient.name}", Scope.DISC).render(odd) == "Doe  Jane "


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("{patient.nmae}", "unknown field '{patient.nmae}'; did you mean '{patient.name}'?"),
        ("{patient.__class__}", "unknown field '{patient.__class__}'"),
        ("{studies[0].__dict__}", "unknown field '{studies[0].__dict__}'"),
        ("{patient.name!r}", "is not a field name"),
        ("{", "a '{' without its '}'"),
        ("}", "a '}' without its '{'"),
        ("{}", "an empty field"),
    ],
)
def test_unknown_field_is_refused_at_load_naming_template_element_and_key(
    expression: str, message: str
) -> None:
    toml = f'[[element]]\ntype = "text"\nid = "who"\ntext = "{expression}"\nx = 0\ny = -30\n'
    with pytest.raises(LabelError) as caught:
        parse_template(toml, name="ward", source="ward.toml")
    assert caught.value.problem is LabelProblem.BAD_TEMPLATE
    assert caught.value.message.startswith(
        "label template 'ward' (ward.toml): element 1 'who' (text), key 'text': "
    )
    assert message in caught.value.message


def test_a_study_list_line_knows_only_study_fields() -> None:
    toml = '[[element]]\ntype = "studies"\nline = "{date} {patient.name}"\nx = -40\ny = 20\n'
    with pytest.raises(LabelError, match=r"element 1 \(studies\), key 'line': unknown field"):
        parse_template(toml, name="t")
    toml = '[[element]]\ntype = "studies"\nmore = "and {more} more {date}"\nx = -40\ny = 20\n'
    assert parse_template(toml, name="t").elements[0].type == "studies"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            'type = "text"\ntext = "x"\nx = 0\ny = -30\nsiz = 9',
            "key 'siz': unknown key; did you mean 'size'?",
        ),
        (
            'type = "txt"\ntext = "x"\nx = 0\ny = -30',
            "key 'type' must be one of text, studies, image",
        ),
        ('text = "x"\nx = 0\ny = -30', "key 'type' must be one of text, studies, image"),
        ('type = "text"\ntext = "x"', "needs a position"),
        ('type = "text"\ntext = "x"\nx = 0\ny = 1\nradius = 3\nangle = 0', "not both"),
        ('type = "text"\ntext = "x"\nx = 0\ny = -30\ncurved = true', "curved text needs radius"),
        (
            'type = "text"\ntext = "x"\nx = 0\ny = -30\nsize = 200',
            "key 'size': must be at most 72",
        ),
        (
            'type = "text"\ntext = "x"\nx = 0\ny = -30\nsize = 8\nmin_size = 9',
            "min_size (9.0) is larger than size (8.0)",
        ),
        (
            'type = "text"\ntext = "x"\nx = 0\ny = -30\ncolour = "red"',
            "key 'colour': must be a colour written #rrggbb",
        ),
        ('type = "text"\ntext = "x"\nx = 0\ny = -30\nalign = "middle"', "key 'align'"),
    ],
)
def test_bad_keys_and_values_are_named(body: str, message: str) -> None:
    with pytest.raises(LabelError) as caught:
        parse_template(f"[[element]]\n{body}\n", name="t")
    assert "label template 't': element 1" in caught.value.message
    assert message in caught.value.message


def test_unknown_top_level_key_and_bad_toml() -> None:
    with pytest.raises(LabelError, match="key 'backgroud': unknown key; did you mean 'background'"):
        parse_template(
            'backgroud = "#ffffff"\n[[element]]\ntype="text"\ntext="x"\nx=0\ny=-30', name="t"
        )
    with pytest.raises(LabelError, match="label template 't': not valid TOML"):
        parse_template("[[element]\n", name="t")
    with pytest.raises(LabelError, match="key 'element': is required"):
        parse_template('description = "empty"', name="t")


def test_a_template_for_anonymised_copies_refuses_identifying_fields() -> None:
    for text in (
        "{patient.name}",
        "{patient.id}",
        "{patient.birth_date}",
        "{studies[0].accession_number}",
    ):
        toml = (
            f'identifying = false\n[[element]]\ntype = "text"\ntext = "x {text}"\nx = 0\ny = -30\n'
        )
        with pytest.raises(
            LabelError, match=r"element 1 \(text\), key 'text': .* shows who the patient is"
        ):
            parse_template(toml, name="anon")
    toml = (
        'identifying = false\n[[element]]\ntype = "studies"\nline = "{accession_number}"\n'
        "x = 0\ny = 20\n"
    )
    with pytest.raises(LabelError, match="key 'line'"):
        parse_template(toml, name="anon")


def test_builtin_templates_load_and_the_anonymised_one_names_no_patient() -> None:
    assert BUILTIN_TEMPLATES == ("patient", "anonymised", "minimal")
    for name in BUILTIN_TEMPLATES:
        template = load_template(name)
        assert template.name == name
        assert template.elements
    anonymised = load_template("anonymised")
    assert anonymised.identifying is False
    texts = [e.text for e in anonymised.elements if isinstance(e, TextElement)]
    assert not any("patient." in text for text in texts)
    patient_texts = [
        e.text for e in load_template("patient").elements if isinstance(e, TextElement)
    ]
    assert "{patient.name}" in patient_texts


def test_template_files_by_path_and_unknown_names(tmp_path: Path) -> None:
    Image.new("RGB", (40, 20), "red").save(tmp_path / "logo.png")
    (tmp_path / "ward.toml").write_text(
        '[[element]]\ntype = "image"\npath = "logo.png"\nwidth = 20\nx = 0\ny = -40\n',
        encoding="utf-8",
    )
    template = load_template("ward.toml", template_dir=tmp_path)
    assert template.name == "ward"
    element = template.elements[0]
    assert isinstance(element, ImageElement)
    assert element.path == str((tmp_path / "logo.png").resolve())
    with pytest.raises(LabelError) as caught:
        load_template("nonesuch")
    assert caught.value.problem is LabelProblem.UNKNOWN_TEMPLATE
    assert "not a built-in (patient, anonymised, minimal)" in caught.value.message
    (tmp_path / "bad.toml").write_text(
        '[[element]]\ntype = "image"\npath = "missing.png"\nwidth = 20\nx = 0\ny = -40\n',
        encoding="utf-8",
    )
    with pytest.raises(LabelError, match=r"element 1 \(image\), key 'path': cannot read the image"):
        load_template(str(tmp_path / "bad.toml"))


def test_an_empty_element_list_is_refused() -> None:
    with pytest.raises(LabelError, match="key 'element': needs at least 1 item"):
        parse_template("element = []", name="t")

"""Identifiers in every Specific Character Set syngo MR lists decode to the same Unicode.

A query for a patient's name is written by pydicom in each set (with ISO 2022 escapes where
the set needs them) and read back by the box; the compiled key must match the Unicode name
the worklist holds.
"""

from __future__ import annotations

import pytest
from pydicom.dataset import Dataset
from pydicom.filebase import DicomBytesIO
from pydicom.filewriter import write_dataset

from appliance.dicom.syntaxes import EXPLICIT_LE, IMPLICIT_LE
from appliance.worklist.query import compile_query, decode_identifier

# (Specific Character Set, a name that needs it) for each set of syngo MR section 6
# (tables 66-69), plus ISO 2022 IR 87 (JIS X 0208), which IR 159 is used with.
NAMES = [
    ("ISO_IR 100", "MÜLLER^JÖRG"),
    ("ISO_IR 101", "DVOŘÁK^ANTONÍN"),
    ("ISO_IR 109", "ĦAĠAR^ĊIKKU"),
    ("ISO_IR 110", "ŠĶĒLE^ĪVA"),
    ("ISO_IR 126", "ΠΑΠΑΔΟΠΟΥΛΟΣ^ΓΙΩΡΓΟΣ"),
    ("ISO_IR 127", "قباني^لنزار"),
    ("ISO_IR 138", "שרון^אריאל"),
    ("ISO_IR 144", "ИВАНОВ^ИВАН"),
    ("ISO_IR 148", "ÖZTÜRK^AYŞE"),
    ("ISO_IR 166", "สมชาย^ใจดี"),
    ("ISO_IR 13", "ﾔﾏﾀﾞ^ﾀﾛｳ"),
    ("ISO 2022 IR 100", "MÜLLER^JÖRG"),
    ("ISO 2022 IR 101", "DVOŘÁK^ANTONÍN"),
    ("ISO 2022 IR 126", "ΠΑΠΑΔΟΠΟΥΛΟΣ^ΓΙΩΡΓΟΣ"),
    ("ISO 2022 IR 144", "ИВАНОВ^ИВАН"),
    ("ISO 2022 IR 138", "שרון^אריאל"),
    ("ISO 2022 IR 6\\ISO 2022 IR 87", "山田^太郎"),
    ("ISO 2022 IR 6\\ISO 2022 IR 149", "김^희중"),
    ("ISO 2022 IR 109", "ĦAĠAR^ĊIKKU"),
    ("ISO 2022 IR 110", "ŠĶĒLE^ĪVA"),
    ("ISO 2022 IR 6\\ISO 2022 IR 159", "丂^乚"),  # JIS X 0212 supplementary Kanji
    ("ISO_IR 192", "Wang^XiaoDong=王^小東"),
    ("GB18030", "王^小明"),
]


def _identifier(charset: str, name: str, transfer_syntax: str) -> bytes:
    query = Dataset()
    query.SpecificCharacterSet = charset.split("\\")
    query.PatientName = name
    query.PatientID = ""
    fp = DicomBytesIO()
    fp.is_little_endian = True
    fp.is_implicit_VR = transfer_syntax == IMPLICIT_LE
    write_dataset(fp, query)
    return fp.getvalue()


@pytest.mark.parametrize("transfer_syntax", [IMPLICIT_LE, EXPLICIT_LE])
@pytest.mark.parametrize(("charset", "name"), NAMES)
def test_query_names_decode_in_their_character_set(
    charset: str, name: str, transfer_syntax: str
) -> None:
    data = _identifier(charset, name, transfer_syntax)
    if charset not in ("ISO_IR 100", "ISO 2022 IR 100", "ISO_IR 148", "ISO_IR 192"):
        assert name.encode("utf-8") not in data  # the set's own bytes went over the wire
    query = compile_query(decode_identifier(data, transfer_syntax), fold_names=True)
    [key] = [k for k in query.keys if k.keyword == "PatientName"]
    assert key.value == name
    assert query.matches({"PatientName": name.lower()})  # names fold case
    assert not query.matches({"PatientName": "SOMEONE^ELSE"})

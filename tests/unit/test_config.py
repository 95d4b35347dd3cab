"""Config: strict schema, sentences naming section/key/limit, nearest-key hints, masking."""

from __future__ import annotations

from pathlib import Path

import pytest

from appliance.config import ConfigError, load_config, render_config


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "kiln.toml"
    path.write_text(text)
    return path


def problems(tmp_path: Path, text: str) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_config(write(tmp_path, text))
    return caught.value.problems


def test_defaults_follow_the_seeds() -> None:
    config = load_config(None)
    assert config.dicom.ae_titles == ["KILN"]
    assert config.dicom.port == 11112
    assert config.dicom.max_associations == 128
    assert config.dicom.max_pdu == 262144
    assert (config.dicom.acse_timeout, config.dicom.dimse_timeout) == (30.0, 30.0)
    assert config.dicom.network_timeout == 75.0  # syngo MR holds a print association 60 s


def test_unknown_key_suggests_the_nearest(tmp_path: Path) -> None:
    found = problems(tmp_path, "[dicom]\nmax_pdux = 4096\n")
    assert found == ["[dicom] max_pdux: unknown key; did you mean 'max_pdu'?"]


def test_unknown_section_suggests_the_nearest(tmp_path: Path) -> None:
    assert problems(tmp_path, "[storag]\n") == [
        "[storag]: unknown section; did you mean 'storage'?"
    ]


def test_limit_is_named(tmp_path: Path) -> None:
    found = problems(tmp_path, "[dicom]\nmax_pdu = 10\nmax_associations = 5000\n")
    assert "[dicom] max_pdu: must be at least 4096 (got 10)" in found
    assert "[dicom] max_associations: must be at most 1024 (got 5000)" in found


def test_nested_peer_errors_name_their_section(tmp_path: Path) -> None:
    found = problems(
        tmp_path, '[commitment.peers.MR1]\nae_title = "MR1"\nhost = "h"\nport = 0\nmod = "x"\n'
    )
    assert "[commitment.peers.MR1] port: must be at least 1 (got 0)" in found
    assert "[commitment.peers.MR1] mod: unknown key; did you mean 'mode'?" in found


def test_bad_values_are_refused(tmp_path: Path) -> None:
    found = problems(
        tmp_path,
        '[dicom]\nae_titles = ["THIS_TITLE_IS_TOO_LONG"]\nhost_allow = ["10.0.0.0/33"]\n'
        '[storage]\nduplicates = "sometimes"\nextra_sop_classes = ["1.2.x"]\n',
    )
    text = "\n".join(found)
    assert "[dicom] ae_titles[0]: must be an AE title: 1 to 16 characters" in text
    assert "[dicom] host_allow" in text and "10.0.0.0/33" in text
    assert "[storage] duplicates" in text and "keep-first" in text
    assert "[storage] extra_sop_classes[0]: must be a UID" in text


def test_not_toml_is_one_sentence(tmp_path: Path) -> None:
    found = problems(tmp_path, "[dicom\n")
    assert len(found) == 1 and found[0].startswith("not valid TOML")


def test_relative_data_dir_is_beside_the_file(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, '[box]\ndata_dir = "here"\n'))
    assert config.box.data_dir == tmp_path / "here"


def test_show_masks_secrets(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, '[web]\nsession_secret = "hunter2"\n'))
    text = render_config(config)
    assert "hunter2" not in text
    assert 'session_secret = "********"' in text
    assert config.web.session_secret.get_secret_value() == "hunter2"

"""Web login pieces: scrypt hashes, signed session cookies, the user store and
`appliance users`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from appliance.cli.context import Context
from appliance.cli.users_cmds import registered
from appliance.db.database import connect, migrate
from appliance.web.passwords import hash_password, verify_password
from appliance.web.sessions import LIFETIME, decode, encode, new_session, signing_key
from appliance.web.users import UserRefused, UserStore


def test_password_hash_verifies_only_its_password() -> None:
    stored = hash_password("correct horse", n=2**10)
    assert stored.startswith("scrypt$1024$8$1$")
    assert verify_password("correct horse", stored)
    assert not verify_password("correct horsE", stored)
    assert hash_password("correct horse", n=2**10) != stored  # salted


@pytest.mark.parametrize(
    "damaged", ["", "scrypt$x", "md5$1$2$3$AA==$AA==", "scrypt$1024$8$1$!!$??"]
)
def test_a_damaged_hash_lets_nobody_in(damaged: str) -> None:
    assert not verify_password("anything", damaged)


def test_a_hash_asking_for_too_much_memory_is_refused() -> None:
    assert not verify_password("x", "scrypt$4194304$8$1$AAAA$AAAA")


def test_session_cookie_round_trip_and_tampering() -> None:
    key = signing_key("a-long-random-secret")
    session = new_session(1000.0, "alice", 900.0)
    cookie = encode(key, session)
    assert decode(key, cookie, 1001.0) == session
    payload, mac = cookie.split(".")
    forged = encode(key, new_session(1000.0, "mallory"))
    assert decode(key, f"{forged.split('.')[0]}.{mac}", 1001.0) is None
    assert decode(key, payload + "." + "0" * 64, 1001.0) is None
    assert decode(key, "garbage", 1001.0) is None
    assert decode(signing_key("another-secret-entirely"), cookie, 1001.0) is None
    assert decode(key, cookie, 1000.0 + LIFETIME + 1) is None  # expired


def test_the_placeholder_secret_is_never_the_key() -> None:
    # anyone could forge sessions with the shipped placeholder: a random key is used instead
    assert signing_key("change-me") != signing_key("change-me")
    assert signing_key("s3cret-long") == signing_key("s3cret-long")


def test_user_store(tmp_path: Path) -> None:
    migrate(tmp_path)
    clock = iter(float(t) for t in range(100, 200))
    store = UserStore(connect(tmp_path), lambda: next(clock))
    store.add("alice", "password-1")
    with pytest.raises(UserRefused, match="already a user"):
        store.add("alice", "password-2")
    with pytest.raises(UserRefused, match="8 to 1024"):
        store.add("bob", "short")
    with pytest.raises(UserRefused, match="cannot be a user name"):
        store.add("../etc", "password-1")
    user = store.authenticate("alice", "password-1")
    assert user is not None and user.name == "alice"
    assert store.authenticate("alice", "wrong-password") is None
    assert store.authenticate("nobody", "password-1") is None
    store.set_password("alice", "password-2")
    changed = store.get("alice")
    assert changed is not None and changed.password_changed_at > user.password_changed_at
    assert store.authenticate("alice", "password-1") is None
    store.remove("alice")
    assert store.all() == []
    with pytest.raises(UserRefused, match="no user"):
        store.remove("alice")


def test_users_cli(tmp_path: Path) -> None:
    config = tmp_path / "kiln.toml"
    config.write_text(f'[box]\ndata_dir = "{tmp_path / "var"}"\n')
    runner = CliRunner()

    def run(*args: str, stdin: str = "") -> tuple[int, str]:
        result = runner.invoke(registered(), list(args), input=stdin, obj=Context(config))
        return result.exit_code, result.output

    assert run("add", "alice", "--password-stdin", stdin="password-1\n")[0] == 0
    code, out = run("add", "bob", stdin="password-2\npassword-2\n")  # asked twice
    assert code == 0, out
    code, out = run("add", "carol", stdin="password-3\nother-one\npassword-3\npassword-3\n")
    assert code == 0 and "do not match" in out
    code, out = run("add", "alice", "--password-stdin", stdin="password-1\n")
    assert code == 1 and "already a user" in out
    code, out = run("ls", "--json")
    assert [u["name"] for u in json.loads(out)] == ["alice", "bob", "carol"]
    assert run("passwd", "bob", "--password-stdin", stdin="password-9\n")[0] == 0
    assert run("rm", "carol")[0] == 0
    code, out = run("rm", "carol")
    assert code == 1 and "no user 'carol'" in out
    store = UserStore(connect(tmp_path / "var"), lambda: 0.0)
    assert store.authenticate("bob", "password-9") is not None
    assert [u.name for u in store.all()] == ["alice", "bob"]

"""Fernet keys: configured or generated once, several for rotation, never shown."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from left4me import crypto
from left4me.env import EnvError, persistent_secret

pytestmark = pytest.mark.nodb

NEW, OLD = crypto.generate_key(), crypto.generate_key()


def mode(path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_it_encrypts_with_the_first_key_and_decrypts_with_any():
    token = crypto.Keyring([NEW, OLD]).encrypt("hunter2")
    assert token != "hunter2"
    assert Fernet(NEW).decrypt(token).decode() == "hunter2"  # the first key encrypts
    old_token = crypto.Keyring([OLD]).encrypt("hunter2")
    assert crypto.Keyring([NEW, OLD]).decrypt(old_token) == "hunter2"  # any key decrypts


def test_it_marks_what_no_key_opens_and_keeps_its_ciphertext():
    token = crypto.Keyring([OLD]).encrypt("hunter2")
    for broken in (token, "plain text", "gAAAAAB-not-a-token", "nön-ascii"):
        value = crypto.Keyring([NEW]).decrypt(broken)
        assert crypto.is_undecryptable(value)
        assert value.token == broken
        assert broken not in repr(value)
        assert value == ""  # reads as "no password": nothing sends or renders a guess
        assert not value
    assert not crypto.is_undecryptable("")


def test_it_rotates_a_token_to_the_first_key():
    old_token = crypto.Keyring([OLD]).encrypt("hunter2")
    rotated = crypto.Keyring([NEW, OLD]).rotate(old_token)
    assert rotated is not None
    assert crypto.Keyring([NEW]).decrypt(rotated) == "hunter2"
    assert crypto.Keyring([NEW]).rotate(old_token) is None


def test_it_never_shows_a_key_in_reprs_or_errors():
    ring = crypto.keyring((NEW, OLD))
    assert NEW not in repr(ring)
    assert repr(ring) == "<Keyring of 2 key(s)>"
    bad = NEW[:-4] + "!!!!"
    with pytest.raises(EnvError) as error:
        crypto.parse_keys(f"{NEW}, {bad}", source="RCON_PASSWORD_KEYS")
    assert str(error.value).startswith("RCON_PASSWORD_KEYS: key 2 of 2 is not a Fernet key")
    assert bad not in str(error.value)
    assert NEW not in str(error.value)
    assert error.value.__cause__ is None
    assert error.value.__suppress_context__


def test_it_takes_keys_from_the_variable_and_creates_no_file(tmp_path):
    keys = crypto.configured_keys(f" {NEW} ,{OLD},", key_file=tmp_path / "rcon-password.key")
    assert keys == [NEW, OLD]
    assert not (tmp_path / "rcon-password.key").exists()


def test_it_generates_one_key_file_readable_by_its_owner_only(tmp_path):
    path = tmp_path / "rcon-password.key"
    first = crypto.configured_keys("", key_file=path)
    assert crypto.configured_keys("", key_file=path) == first
    assert len(first) == 1
    Fernet(first[0])  # a working key
    assert mode(path) == 0o600
    assert sorted(p.name for p in tmp_path.iterdir()) == ["rcon-password.key"]


def test_it_refuses_an_empty_or_broken_key_file_naming_the_file(tmp_path):
    path = tmp_path / "rcon-password.key"
    path.write_text("")
    with pytest.raises(EnvError, match=r"rcon-password\.key is empty"):
        crypto.configured_keys("", key_file=path)
    path.write_text("not a key")
    with pytest.raises(EnvError, match=r"rcon-password\.key: key 1 of 1 is not a Fernet key"):
        crypto.configured_keys("", key_file=path)


def test_it_tightens_a_secret_file_others_could_read(tmp_path):
    path = tmp_path / "secret_key"
    path.write_text("s3cret")
    path.chmod(0o644)
    assert persistent_secret(path, lambda: "unused") == "s3cret"
    assert mode(path) == 0o600


def test_it_keeps_the_secret_of_a_process_that_created_it_first(tmp_path):
    path = tmp_path / "secret"

    def generate_while_another_process_wins() -> str:
        path.write_text("winner")
        return "loser"

    assert persistent_secret(path, generate_while_another_process_wins) == "winner"
    assert path.read_text() == "winner"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["secret"]  # no candidate left


def test_it_agrees_on_one_key_when_processes_start_together(tmp_path):
    path = tmp_path / "rcon-password.key"
    go = tmp_path / "go"
    script = (
        "import pathlib, sys\n"
        "from left4me.crypto import configured_keys\n"
        f"go = pathlib.Path({str(go)!r})\n"
        "while not go.exists(): pass\n"
        f"print(configured_keys('', key_file=pathlib.Path({str(path)!r}))[0])\n"
    )
    env = {**os.environ, "PYTHONPATH": str(Path(crypto.__file__).parents[1])}
    racers = [
        subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True, env=env)
        for _ in range(6)
    ]
    go.touch()
    keys = {racer.communicate(timeout=30)[0].strip() for racer in racers}
    assert keys == {path.read_text()}
    assert mode(path) == 0o600

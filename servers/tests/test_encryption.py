"""RCON passwords are ciphertext in the database and plaintext to the code that uses them."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.exceptions import FieldError
from django.core.management import CommandError, call_command
from django.db import connection

from left4me import crypto
from servers.models import Server
from servers.services import render_server_cfg, rotate_rcon_password

pytestmark = pytest.mark.django_db

NEW, OLD, LOST = crypto.generate_key(), crypto.generate_key(), crypto.generate_key()


@pytest.fixture
def keys(settings):
    settings.RCON_PASSWORD_KEYS = [OLD]
    return settings


def raw(server_id: int) -> str:
    """The column as stored, read past the field."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT rcon_password FROM servers_server WHERE id = %s", [server_id])
        return cursor.fetchone()[0]


def store_raw(server_id: int, value: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE servers_server SET rcon_password = %s WHERE id = %s", [value, server_id]
        )


def test_it_stores_ciphertext_and_reads_back_plaintext(keys, make_server):
    server = make_server(rcon_password="hunter2-but-longer")
    stored = raw(server.pk)
    assert "hunter2" not in stored
    assert crypto.Keyring([OLD]).decrypt(stored) == "hunter2-but-longer"
    assert Server.objects.get(pk=server.pk).rcon_password == "hunter2-but-longer"
    assert list(Server.objects.values_list("rcon_password", flat=True)) == ["hunter2-but-longer"]
    generated = make_server()  # the default: 43 characters, 140 stored
    assert len(Server.objects.get(pk=generated.pk).rcon_password) == 43
    assert len(raw(generated.pk)) == 140


def test_it_encrypts_updates_and_rotations(keys, make_server):
    server = make_server()
    Server.objects.filter(pk=server.pk).update(rcon_password="set-by-update")
    assert raw(server.pk) != "set-by-update"
    assert Server.objects.get(pk=server.pk).rcon_password == "set-by-update"
    rotate_rcon_password(server=server)
    assert crypto.Keyring([OLD]).decrypt(raw(server.pk)) == server.rcon_password


def test_it_keeps_no_password_empty_and_findable(keys, make_server):
    server = make_server(rcon_password="")
    assert raw(server.pk) == ""
    assert list(Server.objects.filter(rcon_password="")) == [server]
    assert render_server_cfg(server=Server.objects.get()) == "\n"


def test_it_refuses_lookups_that_could_never_match(keys, make_server):
    make_server(rcon_password="pw")
    with pytest.raises(FieldError, match="stored encrypted"):
        list(Server.objects.filter(rcon_password="pw"))
    with pytest.raises(FieldError):
        list(Server.objects.filter(rcon_password__startswith="p"))


def test_it_decrypts_with_an_older_key_once_a_new_one_is_prepended(keys, make_server):
    server = make_server(rcon_password="before-rotation")
    keys.RCON_PASSWORD_KEYS = [NEW, OLD]
    assert Server.objects.get(pk=server.pk).rcon_password == "before-rotation"
    make_server(name="later", rcon_password="after")
    assert crypto.Keyring([NEW]).decrypt(raw(Server.objects.get(name="later").pk)) == "after"


def test_a_row_of_a_lost_key_reads_as_no_password_and_is_saved_unchanged(keys, make_server):
    server = make_server(rcon_password="pw")
    foreign = crypto.Keyring([LOST]).encrypt("lost-password")
    store_raw(server.pk, foreign)
    loaded = Server.objects.get(pk=server.pk)
    assert crypto.is_undecryptable(loaded.rcon_password)
    assert "lost-password" not in render_server_cfg(server=loaded)
    assert "rcon_password" not in render_server_cfg(server=loaded)  # never a wrong password
    loaded.name = "renamed"
    loaded.save()
    assert raw(server.pk) == foreign  # restoring the key later still recovers it
    keys.RCON_PASSWORD_KEYS = [OLD, LOST]
    assert Server.objects.get(pk=server.pk).rcon_password == "lost-password"


def test_it_never_shows_the_keys_on_a_debug_page(keys):
    from django.views.debug import get_default_exception_reporter_filter

    safe = get_default_exception_reporter_filter().get_safe_settings()
    assert OLD not in str(safe)
    assert safe["RCON_PASSWORD_KEYS"] != keys.RCON_PASSWORD_KEYS


def reencrypt(*args: str) -> str:
    out = StringIO()
    call_command("reencrypt_rcon_passwords", *args, stdout=out)
    return out.getvalue()


def test_it_reencrypts_every_row_with_the_first_key_in_batches(keys, make_server):
    servers = [make_server(rcon_password=f"pw-{n}") for n in range(5)]
    make_server(rcon_password="")
    keys.RCON_PASSWORD_KEYS = [NEW, OLD]
    out = reencrypt("--batch-size", "2")
    assert "Re-encrypted 5 RCON password(s) with the first key." in out
    assert out.count("row(s) done") == 3  # 2 + 2 + 1
    for n, server in enumerate(servers):
        assert crypto.Keyring([NEW]).decrypt(raw(server.pk)) == f"pw-{n}"
    keys.RCON_PASSWORD_KEYS = [NEW]  # the old key can go now
    assert [s.rcon_password for s in Server.objects.exclude(rcon_password="")] == [
        f"pw-{n}" for n in range(5)
    ]


def test_it_reports_rows_it_cannot_decrypt_and_leaves_them_alone(keys, make_server):
    good = make_server(rcon_password="good")
    lost = make_server(rcon_password="x")
    foreign = crypto.Keyring([LOST]).encrypt("lost")
    store_raw(lost.pk, foreign)
    keys.RCON_PASSWORD_KEYS = [NEW, OLD]
    with pytest.raises(CommandError) as error:
        reencrypt()
    assert str(error.value).startswith("1 RCON password(s) could not be decrypted")
    assert f"server ids {lost.pk})" in str(error.value)
    assert NEW not in str(error.value)
    assert raw(lost.pk) == foreign
    assert crypto.Keyring([NEW]).decrypt(raw(good.pk)) == "good"


BEFORE = [("servers", "0010_server_permissions")]
AFTER = [("servers", "0011_encrypt_rcon_passwords")]


@pytest.mark.django_db(transaction=True)
def test_the_migration_encrypts_existing_rows_and_decrypts_them_back(keys, migrate_to):
    old = migrate_to(BEFORE)
    user = old.get_model("auth", "User").objects.create(username="legacy")
    OldServer = old.get_model("servers", "Server")
    plain = {"a": "x" * 64, "b": "hunter2-password", "c": ""}  # 64: the longest the old column took
    ids = {
        name: OldServer.objects.create(owner=user, name=name, port=27015 + n, rcon_password=pw).pk
        for n, (name, pw) in enumerate(plain.items())
    }

    new = migrate_to(AFTER)

    for name, password in plain.items():
        stored = raw(ids[name])
        if password:
            assert password not in stored
            assert crypto.Keyring([OLD]).decrypt(stored) == password
        else:
            assert stored == ""
    NewServer = new.get_model("servers", "Server")
    assert dict(NewServer.objects.values_list("name", "rcon_password")) == plain

    migrate_to(BEFORE)

    assert {name: raw(pk) for name, pk in ids.items()} == plain


@pytest.mark.django_db(transaction=True)
def test_the_migration_back_changes_nothing_when_a_row_cannot_be_decrypted(
    keys, migrate_to, make_user
):
    migrate_to(AFTER)
    good = Server.objects.create(owner=make_user(), name="good", port=27015, rcon_password="good")
    lost = Server.objects.create(owner=good.owner, name="lost", port=27016)
    foreign = crypto.Keyring([LOST]).encrypt("lost")
    store_raw(lost.pk, foreign)
    encrypted_good = raw(good.pk)
    with pytest.raises(RuntimeError, match="1 RCON password"):
        migrate_to(BEFORE)
    assert (raw(good.pk), raw(lost.pk)) == (encrypted_good, foreign)

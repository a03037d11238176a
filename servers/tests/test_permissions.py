"""Owner powers come from ownership or permissions, never from is_staff alone;
each use of a secret (server.cfg, a new address, a rotation) goes in the admin log."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from html.parser import HTMLParser
from io import StringIO
from typing import Any

import pytest
from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.auth.models import Permission
from django.contrib.contenttypes.models import ContentType
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from servers import services
from servers.models import Server

pytestmark = pytest.mark.django_db

CFG, EDIT, MOVE, ROTATE = "cfg", "edit", "move", "rotate"
EVERYTHING = {CFG, EDIT, MOVE, ROTATE}

# who: (is_staff, is_superuser, permission codenames, powers over the owner's server)
ROLES: dict[str, tuple[bool, bool, list[str], set[str]]] = {
    "other": (False, False, [], set()),
    "staff": (True, False, [], set()),
    "staff_all_but_ours": (True, False, ["view_server", "add_server", "delete_server"], set()),
    "staff_cfg": (True, False, ["view_rcon_password"], {CFG}),
    "staff_change": (True, False, ["change_server"], {EDIT}),
    "staff_change_cfg": (True, False, ["change_server", "view_rcon_password"], {CFG, EDIT, MOVE}),
    "staff_rotate": (True, False, ["rotate_rcon_password"], {ROTATE}),
    "other_rotate": (False, False, ["rotate_rcon_password"], {ROTATE}),
    "superuser": (True, True, [], EVERYTHING),
}


@pytest.fixture
def make_role(make_user) -> Callable[[str], Any]:
    def make(role: str) -> Any:
        is_staff, is_superuser, codenames, _ = ROLES[role]
        user = make_user(role, is_staff=is_staff, is_superuser=is_superuser)
        user.user_permissions.set(
            Permission.objects.filter(content_type__app_label="servers", codename__in=codenames)
        )
        return user

    return make


@pytest.fixture
def server(make_server) -> Server:
    return make_server(name="coop", host="127.0.0.1", port=27015, listed=False)


def edit_data(server: Server, **overrides: str) -> dict[str, str]:
    data = {
        "name": server.name,
        "host": server.host,
        "port": str(server.port),
        "desired_state": server.desired_state,
    }
    data.update(overrides)
    return data


def attempt(client: Client, action: str, server: Server) -> Any:
    """Use one power; return the response."""
    if action == CFG:
        return client.get(reverse("servers:cfg", args=[server.pk]))
    if action == ROTATE:
        return client.post(reverse("servers:rotate_password", args=[server.pk]))
    url = reverse("servers:edit", args=[server.pk])
    if action == EDIT:
        return client.post(url, edit_data(server, name="renamed"))
    return client.post(url, edit_data(server, host="127.0.0.2", port="27016"))


def took_effect(action: str, before: Server, response: Any) -> bool:
    after = Server.objects.get(pk=before.pk)
    if action == CFG:
        return response.status_code == 200 and before.rcon_password in response.content.decode()
    if action == ROTATE:
        return after.rcon_password != before.rcon_password
    if action == EDIT:
        return after.name == "renamed"
    return after.address == "127.0.0.2:27016"


MATRIX = [
    (role, action, action in powers)
    for role, (*_, powers) in ROLES.items()
    for action in EVERYTHING
] + [("owner", action, True) for action in EVERYTHING]


@pytest.mark.parametrize(("who", "action", "allowed"), MATRIX)
def test_it_grants_each_power_only_to_the_owner_superusers_and_holders(
    client, owner, make_role, server, who, action, allowed
):
    client.force_login(owner if who == "owner" else make_role(who))
    response = attempt(client, action, server)
    assert took_effect(action, server, response) is allowed
    if allowed:
        assert response.status_code in (200, 302)
    elif action == MOVE and who == "staff_change":
        # May edit, may not move: the address fields are disabled and ignored.
        assert response.status_code == 302
    else:
        assert response.status_code == 404


@pytest.mark.parametrize("action", sorted(EVERYTHING))
def test_it_sends_anonymous_visitors_to_the_login_page(client, server, action):
    response = attempt(client, action, server)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))
    assert not took_effect(action, server, response)


@pytest.mark.parametrize(("who", "action", "allowed"), MATRIX)
def test_it_logs_each_secret_use_and_nothing_refused(
    client, owner, make_role, server, who, action, allowed
):
    user = owner if who == "owner" else make_role(who)
    client.force_login(user)
    attempt(client, action, server)
    after = Server.objects.get(pk=server.pk)
    expected = {
        CFG: "Downloaded server.cfg (RCON password)",
        MOVE: "Changed host from 127.0.0.1:27015 to 127.0.0.2:27016",
        ROTATE: "Rotated the RCON password",
    }
    entries = list(LogEntry.objects.all())
    if not allowed or action == EDIT:
        assert entries == []
        return
    (entry,) = entries
    assert entry.user == user
    assert entry.content_type == ContentType.objects.get_for_model(Server)
    assert entry.object_id == str(server.pk)
    assert entry.object_repr == after.name
    assert entry.action_flag == CHANGE
    assert entry.change_message == expected[action]
    assert entry.get_change_message() == expected[action]
    for password in (server.rcon_password, after.rcon_password):
        assert password not in entry.change_message


def test_it_logs_nothing_when_a_rotation_is_rate_limited(client, owner, server):
    client.force_login(owner)
    url = reverse("servers:rotate_password", args=[server.pk])
    for _ in range(6):
        client.post(url)
    assert LogEntry.objects.count() == services.ROTATIONS_PER_WINDOW


def test_it_logs_nothing_when_an_edit_is_invalid(client, owner, server):
    client.force_login(owner)
    url = reverse("servers:edit", args=[server.pk])
    response = client.post(url, edit_data(server, host="127.0.0.2", port="70000"))
    assert response.status_code == 200
    assert not LogEntry.objects.exists()
    assert Server.objects.get(pk=server.pk).address == "127.0.0.1:27015"


def test_it_logs_a_port_change_alone_and_not_a_same_address_save(client, owner, server):
    client.force_login(owner)
    url = reverse("servers:edit", args=[server.pk])
    client.post(url, edit_data(server, desired_state="stopped"))
    assert not LogEntry.objects.exists()
    client.post(url, edit_data(server, port="27020"))
    message = LogEntry.objects.get().change_message
    assert message == "Changed host from 127.0.0.1:27015 to 127.0.0.1:27020"


def test_it_logs_the_owner_downloading_the_cfg_every_time(client, owner, server):
    client.force_login(owner)
    for _ in range(2):
        client.get(reverse("servers:cfg", args=[server.pk]))
    assert LogEntry.objects.filter(user=owner).count() == 2


SHOWN = {
    CFG: 'href="{cfg}"',
    EDIT: 'href="{edit}"',
    ROTATE: 'action="{rotate}"',
}


@pytest.mark.parametrize("who", [*ROLES, "owner", "anonymous"])
def test_it_shows_only_the_buttons_the_viewer_can_use(client, owner, make_role, make_server, who):
    listed = make_server(name="public", listed=True)
    if who != "anonymous":
        client.force_login(owner if who == "owner" else make_role(who))
    powers = EVERYTHING if who == "owner" else set() if who == "anonymous" else ROLES[who][3]
    page = client.get(listed.get_absolute_url()).content.decode()
    urls = {
        "cfg": reverse("servers:cfg", args=[listed.pk]),
        "edit": reverse("servers:edit", args=[listed.pk]),
        "rotate": reverse("servers:rotate_password", args=[listed.pk]),
    }
    for power, html in SHOWN.items():
        assert (html.format(**urls) in page) is (power in powers), power
    assert listed.rcon_password not in page


def test_it_shows_the_unlisted_page_to_staff_without_any_power(client, make_role, server):
    client.force_login(make_role("staff"))
    page = client.get(server.get_absolute_url())
    assert page.status_code == 200
    assert reverse("servers:cfg", args=[server.pk]) not in page.content.decode()


def input_tag(page: str, name: str) -> str:
    return page.split(f'name="{name}"', 1)[1].split(">", 1)[0]


def test_it_disables_the_address_fields_for_an_editor_who_may_not_see_the_password(
    client, owner, make_role, server
):
    url = reverse("servers:edit", args=[server.pk])
    client.force_login(make_role("staff_change"))
    page = client.get(url).content.decode()
    assert " disabled" in input_tag(page, "host")
    assert " disabled" in input_tag(page, "port")
    assert " disabled" not in input_tag(page, "name")
    client.force_login(owner)
    page = client.get(url).content.decode()
    assert " disabled" not in input_tag(page, "host")


def test_it_offers_the_new_cfg_only_to_a_rotator_who_may_download_it(client, owner, make_role):
    server = Server.objects.create(owner=owner, name="a", port=27030)
    url = reverse("servers:rotate_password", args=[server.pk])
    cfg = reverse("servers:cfg", args=[server.pk])
    client.force_login(make_role("staff_rotate"))
    page = client.post(url, headers={"HX-Request": "true"}).content.decode()
    assert "RCON password rotated" in page
    assert cfg not in page
    client.force_login(owner)
    assert cfg in client.post(url, headers={"HX-Request": "true"}).content.decode()


@pytest.fixture
def servers_log(caplog) -> Iterator[pytest.LogCaptureFixture]:
    """The servers logger does not propagate to the root, where caplog listens."""
    logger = logging.getLogger("servers")
    logger.addHandler(caplog.handler)
    caplog.set_level(logging.INFO, logger="servers")
    yield caplog
    logger.removeHandler(caplog.handler)


def test_it_logs_a_command_line_rotation_to_the_logger_only(server, servers_log):
    call_command("rotate_rcon_password", str(server.pk), stdout=StringIO())
    after = Server.objects.get(pk=server.pk)
    assert after.rcon_password != server.rcon_password
    assert not LogEntry.objects.exists()
    assert f"Rotated the RCON password of server {server.pk} (coop)" in servers_log.text
    assert "management command" in servers_log.text
    for password in (server.rcon_password, after.rcon_password):
        assert password not in servers_log.text


def admin_rotate(client: Client, *servers: Server) -> Any:
    return client.post(
        reverse("admin:servers_server_changelist"),
        {"action": "rotate_passwords", "_selected_action": [s.pk for s in servers]},
        follow=True,
    )


def test_it_keeps_the_admin_rotate_action_from_staff_without_the_permission(
    client, make_role, server
):
    client.force_login(make_role("staff_all_but_ours"))
    changelist = client.get(reverse("admin:servers_server_changelist")).content.decode()
    assert "rotate_passwords" not in changelist
    admin_rotate(client, server)
    assert Server.objects.get(pk=server.pk).rcon_password == server.rcon_password
    assert not LogEntry.objects.exists()


def test_it_logs_admin_rotations_by_whoever_ran_the_action(client, make_role, make_server):
    first, second = make_server(), make_server()
    rotator = make_role("staff_rotate")
    rotator.user_permissions.add(Permission.objects.get(codename="view_server"))
    client.force_login(rotator)
    assert "Rotated the RCON password of 2 server(s)" in admin_rotate(client, first, second).text
    entries = LogEntry.objects.order_by("object_id")
    assert [(e.user, e.object_id) for e in entries] == [
        (rotator, str(first.pk)),
        (rotator, str(second.pk)),
    ]
    assert {e.change_message for e in entries} == {"Rotated the RCON password"}


def test_it_makes_the_admin_address_read_only_without_the_password_permission(
    client, make_role, server
):
    url = reverse("admin:servers_server_change", args=[server.pk])
    client.force_login(make_role("staff_change"))
    page = client.get(url).content.decode()
    assert 'name="host"' not in page
    assert 'name="port"' not in page
    assert 'name="name"' in page
    client.force_login(make_role("staff_change_cfg"))
    page = client.get(url).content.decode()
    assert 'name="host"' in page


class FormValues(HTMLParser):
    """The values a browser would post from a page's forms (inputs and selected options)."""

    def __init__(self) -> None:
        super().__init__()
        self.values: dict[str, str] = {}
        self.select: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        name = a.get("name")
        if tag == "input" and name and a.get("type") not in ("checkbox", "submit"):
            self.values[name] = a.get("value") or ""
        elif tag == "input" and name and a.get("type") == "checkbox" and "checked" in a:
            self.values[name] = "on"
        elif tag == "select":
            self.select = name
        elif tag == "option" and self.select and "selected" in a:
            self.values[self.select] = a.get("value") or ""


def admin_form(client: Client, url: str) -> dict[str, str]:
    parser = FormValues()
    parser.feed(client.get(url).content.decode())
    return parser.values


def test_it_logs_a_host_change_made_in_the_admin(client, make_role, server):
    url = reverse("admin:servers_server_change", args=[server.pk])
    mover = make_role("staff_change_cfg")
    client.force_login(mover)
    data = admin_form(client, url) | {"host": "127.0.0.3", "port": "27017"}
    response = client.post(url, data)
    assert response.status_code == 302, response.content.decode()[:2000]
    assert Server.objects.get(pk=server.pk).address == "127.0.0.3:27017"
    messages = set(LogEntry.objects.filter(user=mover).values_list("change_message", flat=True))
    assert "Changed host from 127.0.0.1:27015 to 127.0.0.3:27017" in messages
    assert all(server.rcon_password not in message for message in messages)


def test_it_keeps_the_address_when_an_admin_editor_may_not_move_it(client, make_role, server):
    url = reverse("admin:servers_server_change", args=[server.pk])
    client.force_login(make_role("staff_change"))
    data = admin_form(client, url) | {"name": "renamed", "host": "127.0.0.3", "port": "27017"}
    assert client.post(url, data).status_code == 302
    after = Server.objects.get(pk=server.pk)
    assert (after.name, after.address) == ("renamed", "127.0.0.1:27015")
    assert not LogEntry.objects.filter(change_message__startswith="Changed host").exists()

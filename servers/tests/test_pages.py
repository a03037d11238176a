"""Owner pages: create, edit, server.cfg download, password rotation."""

from __future__ import annotations

import logging

import pytest
from django.test import Client
from django.urls import reverse

from servers.models import Server

pytestmark = pytest.mark.django_db


def form_data(**overrides):
    data = {"name": "Coop #1", "host": "127.0.0.1", "port": "27015", "desired_state": "running"}
    data.update(overrides)
    return data


def test_it_creates_a_server_with_a_generated_password(client, owner):
    client.force_login(owner)
    response = client.post(reverse("servers:create"), form_data())
    server = Server.objects.get()
    assert response.status_code == 302
    assert response["Location"] == server.get_absolute_url()
    assert server.owner == owner
    assert len(server.rcon_password) >= 32


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"port": "70000"}, "less than or equal to 65535"),
        ({"port": "0"}, "greater than or equal to 1"),
        ({"port": "abc"}, "Enter a whole number"),
        ({"host": "not a host!"}, "is not a valid host name"),
        ({"name": ""}, "This field is required"),
        ({"desired_state": "exploded"}, "Select a valid choice"),
    ],
)
def test_it_rejects_bad_input_with_a_clear_message(client, owner, overrides, message):
    client.force_login(owner)
    response = client.post(reverse("servers:create"), form_data(**overrides))
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not Server.objects.exists()


def test_it_rejects_a_taken_address_and_a_duplicate_name(client, owner, make_server):
    make_server(name="Coop #1", port=27015)
    client.force_login(owner)
    page = client.post(reverse("servers:create"), form_data(port="27015")).content.decode()
    assert "already used by another server" in page
    assert "You already have a server with this name" in page
    assert Server.objects.count() == 1


def test_it_refuses_someone_elses_blueprint(client, owner, make_user):
    from servers.models import Blueprint

    foreign = Blueprint.objects.create(owner=make_user("other"), name="theirs")
    client.force_login(owner)
    response = client.post(reverse("servers:create"), form_data(blueprint=foreign.pk))
    assert "Select a valid choice" in response.content.decode()
    assert not Server.objects.exists()


def test_it_requires_login_to_create(client):
    response = client.get(reverse("servers:create"))
    assert response.status_code == 302
    assert reverse("login") in response["Location"]


def test_it_downloads_server_cfg_for_the_owner(client, owner, make_server):
    server = make_server()
    client.force_login(owner)
    response = client.get(reverse("servers:cfg", args=[server.pk]))
    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="server.cfg"'
    assert response.content.decode().splitlines()[-1] == f'rcon_password "{server.rcon_password}"'


def test_it_rotates_the_password_over_htmx(client, owner, make_server):
    server = make_server()
    old = server.rcon_password
    client.force_login(owner)
    response = client.post(
        reverse("servers:rotate_password", args=[server.pk]), headers={"HX-Request": "true"}
    )
    server.refresh_from_db()
    assert response.status_code == 200
    assert "RCON password rotated" in response.content.decode()
    assert server.rcon_password != old
    assert server.rcon_password not in response.content.decode()


def test_it_requires_a_csrf_token_to_rotate(owner, make_server):
    server = make_server()
    old = server.rcon_password
    client = Client(enforce_csrf_checks=True)
    client.force_login(owner)
    response = client.post(reverse("servers:rotate_password", args=[server.pk]))
    server.refresh_from_db()
    assert response.status_code == 403
    assert server.rcon_password == old


def test_it_accepts_the_csrf_header_htmx_sends(owner, make_server):
    server = make_server(listed=True)
    client = Client(enforce_csrf_checks=True)
    client.force_login(owner)
    client.get(server.get_absolute_url())
    token = client.cookies["csrftoken"].value
    response = client.post(
        reverse("servers:rotate_password", args=[server.pk]),
        headers={"HX-Request": "true", "X-CSRFToken": token},
    )
    assert response.status_code == 200


def test_it_never_shows_the_password_on_pages(client, owner, make_server, caplog):
    caplog.set_level(logging.DEBUG)
    server = make_server(listed=True)
    client.force_login(owner)
    urls = [
        reverse("servers:list"),
        server.get_absolute_url(),
        reverse("servers:edit", args=[server.pk]),
    ]
    for url in urls:
        assert server.rcon_password not in client.get(url).content.decode(), url
    client.post(reverse("servers:rotate_password", args=[server.pk]))
    server.refresh_from_db()
    for url in urls:
        assert server.rcon_password not in client.get(url).content.decode(), url
    assert server.rcon_password not in caplog.text


def test_it_tells_the_owner_when_rotations_are_rate_limited(client, owner, make_server):
    server = make_server()
    client.force_login(owner)
    url = reverse("servers:rotate_password", args=[server.pk])
    for _ in range(5):
        client.post(url, headers={"HX-Request": "true"})
    page = client.post(url, headers={"HX-Request": "true"}).content.decode()
    assert "rotated 5 times in the last 10 minutes" in page
    assert 'class="message error"' in page

from __future__ import annotations

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


def test_it_never_shows_the_password_in_the_admin(staff_client, make_server):
    server = make_server()
    pages = [
        reverse("admin:servers_server_changelist"),
        reverse("admin:servers_server_change", args=[server.pk]),
        reverse("admin:servers_server_add"),
    ]
    for url in pages:
        response = staff_client.get(url)
        assert response.status_code == 200, url
        assert server.rcon_password not in response.content.decode()
        assert 'name="rcon_password"' not in response.content.decode()


def test_it_rotates_passwords_from_the_admin(staff_client, make_server):
    first, second = make_server(), make_server()
    old = {first.pk: first.rcon_password, second.pk: second.rcon_password}
    response = staff_client.post(
        reverse("admin:servers_server_changelist"),
        {"action": "rotate_passwords", "_selected_action": [first.pk, second.pk]},
        follow=True,
    )
    assert "Rotated the RCON password of 2 server(s)" in response.content.decode()
    for server in (first, second):
        server.refresh_from_db()
        assert server.rcon_password != old[server.pk]


def test_it_searches_servers_by_owner(staff_client, make_server):
    make_server(name="alpha")
    response = staff_client.get(reverse("admin:servers_server_changelist"), {"q": "owner"})
    assert "alpha" in response.content.decode()

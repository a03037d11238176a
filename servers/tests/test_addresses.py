"""Where an owner may point the poller: canonical hosts, refused networks, one target once."""

from __future__ import annotations

import pytest
from django.urls import reverse

from servers.models import Server
from servers.tests.test_pages import form_data

pytestmark = pytest.mark.django_db


@pytest.fixture
def owner_client(client, owner):
    client.force_login(owner)
    return client


def create(client, **fields) -> str:
    return client.post(reverse("servers:create"), form_data(**fields)).content.decode()


@pytest.mark.parametrize(
    "host", ["127.0.0.1", "::1", "::ffff:127.0.0.1", "169.254.169.254", "224.0.0.1", "0.0.0.0",
             "localhost"],
)  # fmt: skip
def test_it_refuses_loopback_metadata_and_multicast_by_default(owner_client, settings, host):
    settings.OUTBOUND_ALLOWED_NETWORKS = ""
    page = create(owner_client, host=host)
    assert "The panel may not connect to this address" in page
    assert not Server.objects.exists()


@pytest.mark.parametrize(
    ("host", "message"),
    [("127.1", "looks like a numeric address"), ("2130706433", "looks like a numeric address"),
     ("0x7f.1", "looks like a numeric address"), ("0177.0.0.1", "looks like a numeric address"),
     ("fe80::1%eth0", "zone"), ("0", "looks like a numeric address")],
)  # fmt: skip
def test_it_refuses_other_spellings_of_an_address_with_a_clear_message(owner_client, host, message):
    page = create(owner_client, host=host)
    assert message in page
    assert not Server.objects.exists()


def test_it_allows_a_lan_address_and_stores_it_canonical(owner_client, settings):
    settings.OUTBOUND_ALLOWED_NETWORKS = ""
    create(owner_client, host=" 192.168.1.20 ")
    server = Server.objects.get()
    assert (server.host, server.resolved_address) == ("192.168.1.20", "192.168.1.20")


def test_one_target_under_two_spellings_is_one_target(owner_client):
    create(owner_client, host="127.0.0.1", port="27015")
    page = create(owner_client, host="::ffff:127.0.0.1", port="27015", name="again")
    assert "already used by another server" in page
    page = create(owner_client, host="localhost", port="27015", name="third")
    assert "already used by another server" in page
    assert Server.objects.count() == 1

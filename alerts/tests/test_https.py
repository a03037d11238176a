"""HTTPS webhooks go to the checked address, with TLS speaking for the host name.

A CA and certificates made here; the receiver listens on the address
"localhost" resolves to, and the panel trusts the CA through ALERT_CA_BUNDLE.
"""

from __future__ import annotations

import ssl
from datetime import UTC, datetime, timedelta

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from alerts import delivery, evaluation, judge, services
from alerts.tests.receiver import Receiver
from left4me import outbound

pytestmark = pytest.mark.django_db(transaction=True)


def certificate(name: str, key, issuer_name: str, issuer_key, *, ca: bool = False):
    now = datetime.now(UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
        .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer_name)]))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(hours=1))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    builder = builder.add_extension(
        x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False
    ).add_extension(
        x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()),
        critical=False,
    )
    usage = dict.fromkeys(
        ["content_commitment", "key_encipherment", "data_encipherment", "key_agreement",
         "crl_sign", "encipher_only", "decipher_only"], False,
    )  # fmt: skip
    builder = builder.add_extension(
        x509.KeyUsage(digital_signature=True, key_cert_sign=ca, **usage | {"crl_sign": ca}),
        critical=True,
    )
    if not ca:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False
        ).add_extension(x509.ExtendedKeyUsage([x509.OID_SERVER_AUTH]), critical=False)
    return builder.sign(issuer_key, hashes.SHA256())


@pytest.fixture
def tls_for(tmp_path, settings):
    """tls_for(name) -> a server SSLContext with a certificate for `name` from our CA."""
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = certificate("left4me test CA", ca_key, "left4me test CA", ca_key, ca=True)
    bundle = tmp_path / "ca.pem"
    bundle.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    settings.ALERT_CA_BUNDLE = str(bundle)
    settings.OUTBOUND_ALLOWED_NETWORKS = "127.0.0.0/8, ::1/128"

    def make(name: str) -> tuple[ssl.SSLContext, list[str]]:
        key = ec.generate_private_key(ec.SECP256R1())
        leaf = certificate(name, key, "left4me test CA", ca_key)
        pem = tmp_path / f"{name}.pem"
        pem.write_bytes(
            leaf.public_bytes(serialization.Encoding.PEM)
            + key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(pem)
        names: list[str] = []
        context.sni_callback = lambda _sock, server_name, _ctx: names.append(server_name)
        return context, names

    return make


@pytest.fixture
def https_receiver(tls_for):
    started = []

    def start(certificate_name: str) -> tuple[Receiver, list[str]]:
        address = outbound.resolve_now(
            "localhost", policy=outbound.Policy.from_text("", ""), timeout=2
        )
        context, names = tls_for(certificate_name)
        receiver = Receiver(address, tls=context)
        started.append(receiver)
        return receiver, names

    yield start
    for receiver in started:
        receiver.close()


def send(rule) -> delivery.Attempt:
    now = datetime.now(UTC)
    row = evaluation.delivery_row(
        rule, None, judge.Occurrence("down:x", now, "because", False), None, now=now
    )
    row.save()
    attempt = delivery.deliver(delivery_id=row.pk, now=now)
    assert attempt is not None
    return attempt


def test_it_connects_to_the_checked_address_and_verifies_the_host_name(https_receiver, make_server):
    receiver, names = https_receiver("localhost")
    url = f"https://localhost:{receiver.port}/hooks/secret-token-0123"
    rule = services.create_rule(server=make_server(), event="down", url=url, format="json")
    assert send(rule).outcome == "sent"
    [request] = receiver.received
    assert request.path == "/hooks/secret-token-0123"
    assert request.headers["Host"] == f"localhost:{receiver.port}"
    assert names == ["localhost"]  # SNI names the host, though the socket went to the IP


def test_it_refuses_a_certificate_for_another_name(https_receiver, make_server):
    receiver, _ = https_receiver("somewhere-else.example")
    url = f"https://localhost:{receiver.port}/hooks/secret-token-0123"
    rule = services.create_rule(server=make_server(), event="down", url=url, format="json")
    attempt = send(rule)
    assert attempt.outcome == "retry"
    assert attempt.error.startswith("the TLS handshake failed")
    assert receiver.received == []

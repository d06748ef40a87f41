"""Access settings reach every client: Kafka SASL/TLS in all three Kafka client configurations
(kafka-python's `client_kwargs`, librdkafka's `producer_config`, Faust's `broker_credentials`), and
the exporter binds to loopback unless told otherwise.

What this does not cover: a handshake with a real SASL/TLS broker (the embedded broker speaks
PLAINTEXT only); Redis AUTH and TLS are proved against a real redis-server in test_store.py."""
from __future__ import annotations

import ipaddress
import ssl

import certifi
import faust
import pytest

from agents.app import broker_credentials
from streams.adapters.kafka import client_kwargs, producer_config
from streams.settings import Settings

SASL_SSL = {
    "HOTLINE_KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
    "HOTLINE_KAFKA_SASL_MECHANISM": "SCRAM-SHA-512",
    "HOTLINE_KAFKA_SASL_USERNAME": "hotline-worker",
    "HOTLINE_KAFKA_SASL_PASSWORD": "s3cret-pw",
    "HOTLINE_KAFKA_SSL_CAFILE": certifi.where(),  # any real CA bundle: the context must load it
}


def test_sasl_and_tls_settings_reach_all_three_kafka_clients():
    s = Settings.from_env(SASL_SSL)
    kw = client_kwargs(s)
    assert {k: kw[k] for k in ("security_protocol", "ssl_cafile", "sasl_mechanism", "sasl_plain_username",
                               "sasl_plain_password")} == {
        "security_protocol": "SASL_SSL", "ssl_cafile": certifi.where(), "sasl_mechanism": "SCRAM-SHA-512",
        "sasl_plain_username": "hotline-worker", "sasl_plain_password": "s3cret-pw"}
    conf = producer_config(s)
    assert {k: conf[k] for k in ("security.protocol", "ssl.ca.location", "sasl.mechanisms", "sasl.username",
                                 "sasl.password")} == {
        "security.protocol": "SASL_SSL", "ssl.ca.location": certifi.where(), "sasl.mechanisms": "SCRAM-SHA-512",
        "sasl.username": "hotline-worker", "sasl.password": "s3cret-pw"}
    creds = broker_credentials(s)
    assert isinstance(creds, faust.SASLCredentials)
    assert (creds.username, creds.password, getattr(creds.mechanism, "value", creds.mechanism)) == ("hotline-worker", "s3cret-pw",
                                                                      "SCRAM-SHA-512")
    assert isinstance(creds.ssl_context, ssl.SSLContext)
    assert creds.ssl_context.verify_mode == ssl.CERT_REQUIRED and creds.ssl_context.check_hostname
    assert creds.ssl_context.cert_store_stats()["x509_ca"] > 0  # the CA file was loaded


def test_tls_without_sasl_gives_an_ssl_context_everywhere():
    s = Settings.from_env({"HOTLINE_KAFKA_SECURITY_PROTOCOL": "SSL", "HOTLINE_KAFKA_SSL_CAFILE": certifi.where()})
    assert client_kwargs(s)["security_protocol"] == "SSL" and "sasl_mechanism" not in client_kwargs(s)
    assert producer_config(s)["security.protocol"] == "SSL" and "sasl.username" not in producer_config(s)
    creds = broker_credentials(s)
    assert isinstance(creds, faust.SSLCredentials) and creds.context.verify_mode == ssl.CERT_REQUIRED


def test_plaintext_sends_no_credentials():
    s = Settings.from_env({})
    assert "security_protocol" not in client_kwargs(s)
    assert "security.protocol" not in producer_config(s)
    assert broker_credentials(s) is None


class _NoRedis:
    """Stands in for the store: the bind address is decided before any scrape reads Redis."""


def test_the_exporter_binds_to_loopback_by_default():
    from streams.commands.exporter import serve

    host, port = Settings.from_env({}).exporter_host_port
    assert ipaddress.ip_address(host).is_loopback, f"default exporter address {host} is not loopback"
    server, thread = serve(lambda: _NoRedis(), (host, 0))
    try:
        bound = server.server_address[0]
        assert ipaddress.ip_address(bound).is_loopback, f"the exporter listens on {bound}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize("addr,host", [("0.0.0.0:9555", "0.0.0.0"), ("[::1]:9555", "::1")])
def test_the_operator_can_choose_the_exporter_address(addr, host):
    assert Settings.from_env({"HOTLINE_EXPORTER_ADDR": addr}).exporter_host_port == (host, 9555)

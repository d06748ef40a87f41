"""Shared fixtures: real services on free loopback ports.

Like FastStream's TestKafkaBroker, the broker is swappable: by default each session starts the
embedded tansu broker; set HOTLINE_TEST_KAFKA_URL to run the same tests against another real
broker (Apache Kafka), or HOTLINE_TEST_REDIS_URL for Redis. Where a Docker engine answers,
HOTLINE_TEST_CONTAINERS=1 uses testcontainers instead.
"""
from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("HOTLINE_SHARED_DIR", ROOT.parent / "shared"))


def _containers():
    if os.environ.get("HOTLINE_TEST_CONTAINERS") != "1":
        return None
    try:
        import docker

        docker.from_env().ping()
        return True
    except Exception:
        return None


@pytest.fixture(scope="session")
def kafka_url():
    if os.environ.get("HOTLINE_TEST_KAFKA_URL"):
        yield os.environ["HOTLINE_TEST_KAFKA_URL"]
        return
    if _containers():
        from testcontainers.kafka import KafkaContainer

        with KafkaContainer() as kc:
            yield "kafka://" + kc.get_bootstrap_server()
        return
    from streams.adapters.embedded import start_broker

    broker = start_broker()
    yield broker.url
    broker.stop()


@pytest.fixture(scope="session")
def redis_service():
    """A redis-server of our own (tests stop and restart it, so never the machine's shared one)."""
    from streams.adapters.embedded import start_redis

    svc = start_redis()
    yield svc
    svc.stop()


@pytest.fixture(scope="session")
def redis_url(redis_service):
    return os.environ.get("HOTLINE_TEST_REDIS_URL") or redis_service.url


@pytest.fixture(scope="session")
def redis_cluster():
    """A local Redis Cluster: 3 primaries with a replica each (streams.adapters.embedded), or the
    cluster at HOTLINE_TEST_REDIS_CLUSTER_URL."""
    if os.environ.get("HOTLINE_TEST_REDIS_CLUSTER_URL"):
        yield None
        return
    from streams.adapters.embedded import start_redis_cluster

    cluster = start_redis_cluster()
    yield cluster
    cluster.stop()


@pytest.fixture(scope="session")
def redis_cluster_url(redis_cluster):
    return os.environ.get("HOTLINE_TEST_REDIS_CLUSTER_URL") or redis_cluster.url


@pytest.fixture(params=["redis", "cluster"])
def any_redis_url(request):
    """Each test using it runs twice: on a single Redis and on a 3-primary Redis Cluster."""
    return request.getfixturevalue("redis_url" if request.param == "redis" else "redis_cluster_url")


@pytest.fixture
def namespace():
    return "t" + uuid.uuid4().hex[:10]


@pytest.fixture
def settings(kafka_url, redis_url, namespace):
    from streams.settings import Settings

    # A unique topic prefix per test keeps tests independent on one broker.
    return Settings.from_env({}).with_(
        kafka_url=kafka_url, redis_url=redis_url, namespace=namespace, topic_prefix=f"{namespace}.",
        partitions=4, session_timeout_s=6.0, caller_hash_key="test-secret-key")


@pytest.fixture(scope="session")
def shared_dir():
    d = SHARED / "data" / "tipdm2020"
    if not d.is_dir():
        pytest.skip(f"../shared data absent ({d}); this test needs the tipdm2020 corpus")
    return d

"""A fresh counter namespace on a real Redis, dropped afterwards: every store test runs on a single
redis-server and on a 3-primary Redis Cluster (tests/conftest.py)."""
import pytest

from schemas.taxonomy import load_taxonomy
from streams.adapters.store import CounterStore, connect


@pytest.fixture
def store(any_redis_url, namespace):
    s = CounterStore(connect(any_redis_url), namespace, load_taxonomy())
    s.claim_namespace()
    yield s
    s.drop()

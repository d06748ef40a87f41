"""A fresh counter namespace on the session's real redis-server, dropped afterwards."""
import pytest

from schemas.taxonomy import load_taxonomy
from streams.adapters.store import CounterStore, connect


@pytest.fixture
def store(redis_url, namespace):
    s = CounterStore(connect(redis_url), namespace, load_taxonomy())
    s.claim_namespace()
    yield s
    s.drop()

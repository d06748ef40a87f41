"""The namespace pointer: readers switch only once the new namespace holds what the old one held."""
from __future__ import annotations

from argparse import Namespace

import pytest

from streams.adapters.namespaces import active, cli, visible
from streams.settings import Settings
from schemas.taxonomy import load_taxonomy
from streams.adapters.store import CounterStore, connect


@pytest.fixture
def ns_settings(any_redis_url, namespace):
    return Settings.from_env({}).with_(redis_url=any_redis_url, namespace=namespace)


def store_of(r, ns: str) -> CounterStore:
    return CounterStore(r, ns, load_taxonomy())


def fences(r, ns: str, **hwm: int) -> None:
    st = store_of(r, ns)
    r.hset(st.k("meta"), "taxonomy", "t")
    for p, v in hwm.items():
        st.register(f"raw:{p[1:]}")
        r.hset(st.pk(f"raw:{p[1:]}", "part"), "hwm", v)


def test_readers_keep_the_old_namespace_until_every_fence_has_caught_up(ns_settings, namespace):
    r = connect(ns_settings.redis_url)
    old, new = namespace, namespace + "_v2"
    fences(r, old, p0=100, p1=50)
    fences(r, new, p0=100)  # the rebuild has not yet reached partition 1's end
    assert visible(ns_settings, r) == old

    cli(Namespace(action="activate", name=new), ns_settings)
    assert active(ns_settings, r) == new  # workers count into the new one at once
    assert visible(ns_settings, r) == old  # readers wait: partition 1 is behind

    fences(r, new, p1=49)
    assert visible(ns_settings, r) == old
    fences(r, new, p1=50)
    assert visible(ns_settings, r) == new
    fences(r, new, p0=120, p1=70)
    assert visible(ns_settings, r) == new

    with pytest.raises(ValueError, match="active"):
        cli(Namespace(action="drop", name=new), ns_settings)


def test_activating_a_namespace_without_counters_is_refused(ns_settings, namespace):
    with pytest.raises(ValueError, match="no counters"):
        cli(Namespace(action="activate", name=namespace + "_missing"), ns_settings)
    assert active(ns_settings) == namespace


def test_dropping_the_default_namespace_keeps_the_pointers_and_refuses_the_active_one(ns_settings, namespace):
    """`hotline namespace drop hotline` (operations step 3) used to scan `hotline:*`, pointers included."""
    r = connect(ns_settings.redis_url)
    old, new = namespace, namespace + "_v2"
    fences(r, old, p0=5)
    fences(r, new, p0=5)
    with pytest.raises(ValueError, match="active"):
        cli(Namespace(action="drop", name=old, yes=True), ns_settings)  # the active one (the default)
    cli(Namespace(action="activate", name=new), ns_settings)
    cli(Namespace(action="drop", name=old, yes=True), ns_settings)
    # the pointers live under the default namespace's tag `{old}:`
    assert r.get(f"{{{old}}}:active") == new and r.get(f"{{{old}}}:previous") == old
    assert not store_of(r, old).offsets() and store_of(r, new).offsets() == {"raw:0": 5}
    assert active(ns_settings, r) == new


@pytest.mark.parametrize("name", ["*", "a*b", "x:y", "", "a b", "h?tline"])
def test_a_namespace_name_must_be_a_name(ns_settings, name):
    with pytest.raises(ValueError, match="namespace name"):
        cli(Namespace(action="drop", name=name, yes=True), ns_settings)

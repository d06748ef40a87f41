"""Counter namespaces: the active one is a single Redis key, so switching is one atomic SET."""
from __future__ import annotations

import re
import sys

from streams.settings import Settings


def _client(settings: Settings):
    from streams.adapters.store import connect

    return connect(settings.redis_url, settings.redis_ssl_ca_certs)


def pointer_key(settings: Settings) -> str:
    # Both pointers share one hash tag, so the MSET that switches them works on a Redis Cluster too.
    return f"{{{settings.namespace}}}:active"


def previous_key(settings: Settings) -> str:
    return f"{{{settings.namespace}}}:previous"


def _store(client, name: str):
    from schemas.taxonomy import load_taxonomy
    from streams.adapters.store import CounterStore

    return CounterStore(client, name, load_taxonomy())


def active(settings: Settings, client=None) -> str:
    """The namespace the workers count into."""
    client = client or _client(settings)
    return client.get(pointer_key(settings)) or settings.namespace


def visible(settings: Settings, client=None) -> str:
    """The namespace readers show: the active one, once it holds everything the one it replaced held.

    Right after `activate`, each worker first catches the new namespace up to what it had
    counted into the old one; until every partition's fence in the new namespace has reached the
    old one's, readers keep showing the old namespace, so no figure ever steps back.
    """
    client = client or _client(settings)
    pipe = client.pipeline(transaction=False)
    pipe.get(pointer_key(settings))
    pipe.get(previous_key(settings))
    current, before = pipe.execute()
    current = current or settings.namespace
    if not before or before == current:
        return current
    # The old fences are read first: whatever they say, the old namespace said at least as much
    # at every earlier scrape, so switching on this comparison never shows fewer events.
    old = _store(client, before).offsets()
    new = _store(client, current).offsets()
    behind = any(new.get(fence, -1) < hwm for fence, hwm in old.items())
    return before if behind else current


def list_namespaces(settings: Settings, client=None) -> list[str]:
    client = client or _client(settings)
    names = set()
    for key in client.scan_iter(match="{*}:meta", count=1000):
        name = key[1:].rsplit("}:", 1)[0]
        if ":" not in name:  # a partition's key has "{ns:topic:p}"
            names.add(name)
    return sorted(names)


_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")


def check_name(name: str) -> str:
    """Names are letters, digits, - and _: a `*` or `:` would widen a key pattern to other namespaces."""
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise ValueError(f"namespace name must be 1-64 letters, digits, - or _, got {name!r}")
    return name


def drop(settings: Settings, name: str, client=None) -> int:
    """Delete a namespace's counters; never the active or shown one, never the pointers."""
    client = client or _client(settings)
    check_name(name)
    if name in (active(settings, client), visible(settings, client)):
        raise ValueError(f"namespace {name!r} is active or still shown; activate another one first")
    return _store(client, name).drop(keep=(pointer_key(settings), previous_key(settings)))


def cli(args, settings: Settings) -> int:
    client = _client(settings)
    if args.action == "list":
        current = active(settings, client)
        shown = visible(settings, client)
        if shown != current:
            print(f"  (still showing {shown} until the workers have caught {current} up)")
        for name in list_namespaces(settings, client):
            meta = _store(client, name).meta()
            mark = "*" if name == current else " "
            print(f"{mark} {name}\twatermark={meta.get('watermark', '-')}\ttaxonomy={meta.get('taxonomy', '-')}")
        return 0
    if args.name is None:
        raise ValueError(f"namespace {args.action} needs a name")
    check_name(args.name)
    if args.action == "activate":
        if not client.exists(f"{{{args.name}}}:meta"):
            raise ValueError(f"namespace {args.name!r} has no counters")
        # One MSET: the pointer and the namespace it replaces change together.
        client.mset({pointer_key(settings): args.name, previous_key(settings): active(settings, client)})
        print(f"active namespace: {args.name} (shown once the workers have caught it up)")
        return 0
    if args.name in (active(settings, client), visible(settings, client)):
        raise ValueError(f"namespace {args.name!r} is active or still shown; activate another one first")
    if not getattr(args, "yes", False):
        if not sys.stdin.isatty():
            raise ValueError(f"dropping {args.name!r} deletes its counters for good: add --yes")
        answer = input(f"drop namespace {args.name!r} and all its counters? type its name to confirm: ")
        if answer.strip() != args.name:
            print("not dropped")
            return 1
    n = drop(settings, args.name, client)
    print(f"dropped {args.name}: {n} keys")
    return 0

"""Counter namespaces: the active one is a single Redis key, so switching is one atomic SET."""
from __future__ import annotations

from streams.settings import Settings


def _client(settings: Settings):
    from streams.store import connect

    return connect(settings.redis_url, settings.redis_ssl_ca_certs)


def pointer_key(settings: Settings) -> str:
    return f"{settings.namespace}:active"


def active(settings: Settings, client=None) -> str:
    client = client or _client(settings)
    return client.get(pointer_key(settings)) or settings.namespace


def list_namespaces(settings: Settings, client=None) -> list[str]:
    client = client or _client(settings)
    names = set()
    for key in client.scan_iter(match="*:meta", count=1000):
        names.add(key.rsplit(":", 1)[0])
    return sorted(names)


def cli(args, settings: Settings) -> int:
    client = _client(settings)
    if args.action == "list":
        current = active(settings, client)
        for name in list_namespaces(settings, client):
            meta = client.hgetall(f"{name}:meta")
            mark = "*" if name == current else " "
            print(f"{mark} {name}\twatermark={meta.get('watermark', '-')}\ttaxonomy={meta.get('taxonomy', '-')}")
        return 0
    if not args.name:
        raise ValueError(f"namespace {args.action} needs a name")
    if args.action == "activate":
        if not client.exists(f"{args.name}:meta"):
            raise ValueError(f"namespace {args.name!r} has no counters")
        client.set(pointer_key(settings), args.name)
        print(f"active namespace: {args.name}")
        return 0
    if args.name == active(settings, client):
        raise ValueError(f"namespace {args.name!r} is active; activate another one first")
    from schemas.taxonomy import load_taxonomy
    from streams.store import CounterStore

    n = CounterStore(client, args.name, load_taxonomy()).drop()
    print(f"dropped {args.name}: {n} keys")
    return 0

"""The repeat stage: repeat-group memberships in, repeat counts out (pure).

Repeat groups (by caller, by near-duplicate text) span the raw topic's partitions, so no one
partition's fenced batch can own them, and on a Redis Cluster no one Lua call can touch them
beside a partition's keys. The worker therefore sends each new ticket's memberships to the members
topic keyed by group key (the Kafka Streams repartition): every group then lives on one partition
of that topic, whose one consumer counts it under its own offset fence, exactly like a raw
partition. Joining is idempotent by ticket id and order-independent (streams/core/repeats.py), so
a membership sent twice (side outputs are at-least-once) or late changes nothing.

A member record: {"ns", "rule", "key", "ticket_id", "received_at", "dims"}; `ns` is the counter
namespace the ticket was counted into (a rebuild's memberships share the topic with the live ones
and each namespace counts only its own). Pipeline counters: `members|joined` (new memberships: at
rest it equals the raw stage's `members|sent`), `members|again` (a membership seen before),
`members|bad` (a record that is not a member record: dead-lettered).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Mapping, Sequence

import orjson

from schemas.taxonomy import Taxonomy, load_taxonomy
from streams.core.cleaning import Rejection
from streams.core.counting import Increment
from streams.core.pipeline import BatchResult, dead_letter
from streams.core.repeats import RULES, Group, Member, join_group


def member_namespace(raw: bytes) -> str | None:
    """The namespace of a member record, cheaply (None when it is not one)."""
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None
    return value.get("ns") if isinstance(value, dict) else None


@dataclass(slots=True)
class MemberPrepared:
    raws: list[bytes]
    parsed: list[tuple[str, str, Member] | Rejection]  # (rule, key, member)
    ticket_ids: list[str]  # none: the stage reads no ticket state
    group_keys: list[str]

    def subset(self, keep: Sequence[int]) -> "MemberPrepared":
        parsed = [self.parsed[i] for i in keep]
        return MemberPrepared([self.raws[i] for i in keep], parsed, [], _keys(parsed))


def _keys(parsed) -> list[str]:
    return list({p[1]: None for p in parsed if not isinstance(p, Rejection)})


DIMS = ("all", "item", "sub", "channel", "district", "rights")  # TicketState.dims(with_reply=False)


def _parse(raw: bytes, taxonomy: Taxonomy) -> tuple[str, str, Member] | Rejection:
    try:
        v = orjson.loads(raw)
        rule, key, tid, at = v["rule"], v["key"], v["ticket_id"], v["received_at"]
        dims = tuple((str(d), str(x)) for d, x in v["dims"])
        if rule not in RULES or not isinstance(key, str) or not isinstance(tid, str) or type(at) is not int:
            raise ValueError("a field has the wrong type or value")
        d = dict(dims)
        if tuple(d) != DIMS:
            raise ValueError(f"dims must be {DIMS}")
        if (d["item"] not in taxonomy.subcategories or not d["sub"].startswith(d["item"] + "/")
                or d["channel"] not in taxonomy.channels or d["district"] not in taxonomy.districts
                or d["rights"] not in taxonomy.rights_claims):
            raise ValueError("a dimension is not in this build's taxonomy")
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError, AttributeError) as exc:
        return Rejection("bad_member", f"not a repeat-group member record: {type(exc).__name__}: {exc}", None)
    return rule, key, Member(tid, at, False, dims)


class MemberProcessor:
    """The repeat stage's counterpart of streams.core.pipeline.Processor (same shape, so the one
    fenced path counts both): prepare parses, process joins groups and returns the increments."""

    orphan_horizon_s = 0  # no parked events in this stage

    def __init__(self, days: int = 30, emit_records: bool = True, taxonomy: Taxonomy | None = None):
        self.days = days
        self.emit_records = emit_records
        self.taxonomy = taxonomy or load_taxonomy()

    def prepare(self, raws: Iterable[bytes]) -> MemberPrepared:
        raws = list(raws)
        parsed = [_parse(r, self.taxonomy) for r in raws]
        return MemberPrepared(raws, parsed, [], _keys(parsed))

    def process(self, prep: MemberPrepared, states: Mapping, sources=None,
                groups: Mapping[str, Group | None] | None = None, **_):
        groups = groups or {}
        result = BatchResult()
        overlay: dict[str, Group] = {}
        for i, item in enumerate(prep.parsed):
            if isinstance(item, Rejection):
                result.bump("members|bad")
                if self.emit_records:
                    result.dead_letters.append((None, dead_letter(prep.raws[i], item, sources[i] if sources else None)))
                continue
            rule, key, member = item
            group = overlay[key] if key in overlay else groups.get(key)
            if group is not None and any(m.ticket_id == member.ticket_id for m in group.members):
                result.bump("members|again")
                continue
            result.bump("members|joined")
            result.event_times.append(member.received_at)
            new_group, flagged = join_group(group, member, self.days)
            overlay[key] = result.groups[key] = new_group
            for m in flagged:
                result.increments.append(Increment(m.received_at, list(m.dims), {f"repeat_{rule}": 1}))
                d = dict(m.dims)
                result.repeat_examples += [(f"item:{d['item']}", m.ticket_id), (f"district:{d['district']}", m.ticket_id)]
        return result

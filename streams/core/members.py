"""The repeat stage: repeat-group memberships in, repeat counts out (pure).

Repeat groups (by caller, by near-duplicate text) span the raw topic's partitions, so no one
partition's fenced batch can own them, and on a Redis Cluster no one Lua call can touch them
beside a partition's keys. The worker therefore sends each new ticket's memberships to the members
topic keyed by group key (the Kafka Streams repartition): every group then lives on one partition
of that topic, whose one consumer counts it under its own offset fence, exactly like a raw
partition. Joining is idempotent by ticket id and order-independent (streams/core/repeats.py), so
a membership sent twice (side outputs are at-least-once) or late changes nothing.

A message of the members topic carries many memberships of one partition:
{"ns": <namespace>, "members": [[rule, key, ticket_id, received_at, item, sub, channel, district,
rights], ...]} (streams/core/repeats.member_record; the object form {"rule", "key", "ticket_id",
"received_at", "dims": [[dim, value], ...]} written before 2026-12-06 is still read). Each
membership's partition is crc32(group key) mod the topic's partitions, so a group always lands on
the same one; sending them in a few messages per batch instead of one message each keeps the
stage's cost per membership a JSON object, not a Kafka message through Faust (two memberships per
ticket would otherwise double the messages the workers handle). `ns` is the counter namespace the
tickets were counted into (a rebuild's memberships share the topic with the live ones and each
namespace counts only its own). Pipeline counters: `members|joined` (new memberships: at
rest it equals the raw stage's `members|sent`), `members|again` (a membership seen before),
`members|bad` (a record that is not a member record: dead-lettered).
"""
from __future__ import annotations

import re
import zlib
from dataclasses import dataclass
from typing import Iterable, Mapping, Sequence

import orjson

from schemas.taxonomy import Taxonomy, load_taxonomy
from streams.core.cleaning import Rejection
from streams.core.counting import Increment
from streams.core.pipeline import BatchResult, dead_letter
from streams.core.repeats import RULES, Group, Member, join_group


MAX_PER_MESSAGE = 1000  # memberships of ~200 bytes: well under a broker's 1 MB message limit


def partition_of(group_key: str, partitions: int) -> int:
    return zlib.crc32(group_key.encode()) % partitions


def member_messages(ns: str, members: Sequence[tuple[str, dict]], partitions: int) -> list[tuple[int, bytes]]:
    """(partition, message) for the members topic: memberships grouped by their group key's partition."""
    by_partition: dict[int, list[dict]] = {}
    for key, record in members:
        by_partition.setdefault(partition_of(key, partitions), []).append(record)
    return [(p, orjson.dumps({"ns": ns, "members": recs[i:i + MAX_PER_MESSAGE]}))
            for p, recs in sorted(by_partition.items()) for i in range(0, len(recs), MAX_PER_MESSAGE)]


_NS_FIRST = re.compile(rb'\{"ns":"([A-Za-z0-9_-]{1,64})",')  # how member_messages writes it: read without parsing


def member_namespace(raw: bytes) -> str | None:
    """The namespace of a members-topic message, cheaply (None when it is not one)."""
    m = _NS_FIRST.match(raw)
    if m:
        return m.group(1).decode()
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None
    return value.get("ns") if isinstance(value, dict) else None


Parsed = tuple[str, str, Member]  # (rule, group key, member)


@dataclass(slots=True)
class MemberPrepared:
    raws: list[bytes]
    parsed: list[list[tuple[Parsed | Rejection, object]] | Rejection]  # per message: (membership, its JSON value)s, or why not
    ticket_ids: list[str]  # none: the stage reads no ticket state
    group_keys: list[str]

    def subset(self, keep: Sequence[int]) -> "MemberPrepared":
        parsed = [self.parsed[i] for i in keep]
        return MemberPrepared([self.raws[i] for i in keep], parsed, [], _keys(parsed))


def _keys(parsed) -> list[str]:
    return list({m[1]: None for message in parsed if not isinstance(message, Rejection)
                 for m, _ in message if not isinstance(m, Rejection)})


def _parse_message(raw: bytes, valid: frozenset) -> list[tuple[Parsed | Rejection, object]] | Rejection:
    try:
        members = orjson.loads(raw)["members"]
        if not isinstance(members, list):
            raise TypeError("members is not a list")
    except (orjson.JSONDecodeError, KeyError, TypeError) as exc:
        return Rejection("bad_member", f"not a message of the members topic: {type(exc).__name__}: {exc}", None)
    return [(_parse(v, valid), v) for v in members]


DIMS = ("all", "item", "sub", "channel", "district", "rights")  # TicketState.dims(with_reply=False)


def valid_pairs(taxonomy: Taxonomy) -> frozenset:
    """Every (dimension, value) pair a membership of this taxonomy may carry, but its subcategory
    (any text under the item: the classifier may name one the taxonomy lacks)."""
    return frozenset([("all", "")] + [("item", i) for i in taxonomy.subcategories]
                     + [("channel", c) for c in taxonomy.channels] + [("district", d) for d in taxonomy.districts]
                     + [("rights", r) for r in taxonomy.rights_claims])


def _parse(v, valid: frozenset) -> Parsed | Rejection:
    """One membership, checked: its rule and types, and its dimension values against the taxonomy
    (one set of its (dimension, value) pairs; the subcategory by its item's prefix)."""
    try:
        if isinstance(v, list):
            rule, key, tid, at, item, sub, channel, district, rights = v
            dims = (("all", ""), ("item", item), ("sub", sub), ("channel", channel), ("district", district),
                    ("rights", rights))
        else:  # the object form of earlier releases (messages still on the topic after an upgrade)
            rule, key, tid, at = v["rule"], v["key"], v["ticket_id"], v["received_at"]
            dims = tuple((d, x) for d, x in v["dims"])
            if tuple(d for d, _ in dims) != DIMS:
                raise ValueError(f"dims must be {DIMS}")
        if rule not in RULES or not isinstance(key, str) or not isinstance(tid, str) or type(at) is not int:
            raise ValueError("a field has the wrong type or value")
        sub = dims[2][1]
        if (not valid.issuperset(dims[:2] + dims[3:]) or not isinstance(sub, str)
                or not sub.startswith(dims[1][1] + "/")):
            raise ValueError("a dimension is not in this build's taxonomy")
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
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
        self._valid = valid_pairs(self.taxonomy)

    @staticmethod
    def newest_event_time(prepared: MemberPrepared) -> int:
        return 0  # nothing is parked here, so no batch needs the waiting tickets

    def prepare(self, raws: Iterable[bytes]) -> MemberPrepared:
        raws = list(raws)
        parsed = [_parse_message(r, self._valid) for r in raws]
        return MemberPrepared(raws, parsed, [], _keys(parsed))

    def process(self, prep: MemberPrepared, states: Mapping, sources=None,
                groups: Mapping[str, Group | None] | None = None, **_):
        groups = groups or {}
        result = BatchResult()
        overlay: dict[str, Group] = {}
        for i, message in enumerate(prep.parsed):
            source = sources[i] if sources else None
            if isinstance(message, Rejection):
                self._bad(result, prep.raws[i], message, source)
                continue
            for item, value in message:
                if isinstance(item, Rejection):
                    self._bad(result, orjson.dumps(value), item, source)
                    continue
                self._join(result, overlay, groups, *item)
        return result

    def _bad(self, result, raw: bytes, rejection: Rejection, source) -> None:
        result.bump("members|bad")
        if self.emit_records:
            result.dead_letters.append((None, dead_letter(raw, rejection, source)))

    def _join(self, result, overlay: dict, groups: Mapping, rule: str, key: str, member: Member) -> None:
        group = overlay[key] if key in overlay else groups.get(key)
        if group is not None and group.has(member.ticket_id):
            result.bump("members|again")
            return
        result.bump("members|joined")
        result.event_times.append(member.received_at)
        new_group, flagged = join_group(group, member, self.days)
        overlay[key] = result.groups[key] = new_group
        for m in flagged:
            result.increments.append(Increment(m.received_at, list(m.dims), {f"repeat_{rule}": 1}))
            d = dict(m.dims)
            result.repeat_examples += [(f"item:{d['item']}", m.ticket_id), (f"district:{d['district']}", m.ticket_id)]

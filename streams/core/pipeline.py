"""The processing core both the batch report and the worker run: bytes in, counts and records out.

`Processor.process()` takes a batch of raw records and the states of the tickets they touch, and
returns everything the outside world needs: increments per time, the new ticket states, pipeline
counters, enriched records and dead-letter records. It does no I/O, so the report (states in a dict)
and the worker (states in Redis) get identical answers for identical input.
"""
from __future__ import annotations

import base64
import hashlib
import time
from dataclasses import dataclass, field
from typing import Callable, Iterable, Mapping, Sequence

from schemas.taxonomy import Taxonomy, load_taxonomy
from streams.core.cleaning import CleanEvent, Rejection, clean
from streams.core.counting import Increment, Parked, TicketState, count_event, orphan
from streams.core.enrich import EnrichedEvent, ItemPredictor, enrich_batch
from streams.core.monitors import BAD_RATINGS, Deadlines, callback_record
from streams.core.repeats import Group, Member, RepeatRules, group_keys, join_group, member_record
from streams.core.windows import PartitionClock
from streams.text.neardup import repeat_keys


@dataclass(frozen=True, slots=True)
class Source:
    """Where a record came from: a file line or a Kafka message."""
    topic: str
    partition: int
    offset: int


@dataclass(slots=True)
class BatchResult:
    increments: list[Increment] = field(default_factory=list)
    states: dict[str, TicketState] = field(default_factory=dict)  # changed states only
    groups: dict[str, Group] = field(default_factory=dict)  # changed repeat groups only
    # records, events|<outcome> (counted, parked, duplicate, rejected, orphaned), dlq|<reason>; at any
    # time records = events|counted + dead letters + events|parked (those still waiting)
    pipeline: dict[str, int] = field(default_factory=dict)
    enriched: list[tuple[str, dict]] = field(default_factory=list)  # (key, record) for the enriched topic
    dead_letters: list[tuple[str | None, dict]] = field(default_factory=list)
    max_event_time: int = 0
    event_times: list[int] = field(default_factory=list)  # of valid records, in input order (the window clock)
    clock: PartitionClock | None = None  # the clock process() moved through these times, when it had one
    repeat_examples: list[tuple[str, str]] = field(default_factory=list)  # (scope, ticket id), for alerts
    callbacks: list[tuple[str, dict]] = field(default_factory=list)  # (ticket id, record): bad ratings, 差评回访
    # (group key, member record): memberships for the repeat stage (streams.core.members), when
    # the Processor hands repeat groups to it instead of joining them itself
    members: list[tuple[str, dict]] = field(default_factory=list)

    def bump(self, name: str, n: int = 1) -> None:
        self.pipeline[name] = self.pipeline.get(name, 0) + n


# A dead letter must fit in one Kafka message, and a batch of them in the worker's memory: larger originals are
# cut, and their size and SHA-256 say what the whole record was.
DLQ_ORIGINAL_MAX = 64 * 1024


def dead_letter(raw: bytes, rejection: Rejection, source: Source | None) -> dict:
    return {
        "reason": rejection.reason,
        "message": rejection.message,
        "ticket_id": rejection.ticket_id,
        "original_b64": base64.b64encode(raw[:DLQ_ORIGINAL_MAX]).decode("ascii"),
        "original_size": len(raw),
        "original_sha256": hashlib.sha256(raw).hexdigest(),
        "original_truncated": len(raw) > DLQ_ORIGINAL_MAX,
        "source_topic": source.topic if source else None,
        "source_partition": source.partition if source else None,
        "source_offset": source.offset if source else None,
    }


def origin_of(raw: bytes, source: Source | None) -> str:
    """What a parked follow-up keeps of its record, to count or dead-letter it later."""
    where = f"{source.topic}\x1f{source.partition}\x1f{source.offset}" if source else ""
    return base64.b64encode(raw).decode("ascii") + "\x1e" + where


def from_origin(origin: str) -> tuple[bytes, Source | None]:
    b64, _, where = origin.partition("\x1e")
    source = None
    if where:
        topic, partition, offset = where.split("\x1f")
        source = Source(topic, int(partition), int(offset))
    return base64.b64decode(b64), source


def enriched_record(ev: EnrichedEvent, state: TicketState) -> dict:
    c = ev.clean
    return {
        "ticket_id": c.ticket_id, "event": c.event, "event_time": c.event_time,
        "received_at": state.received_at, "channel": state.channel, "category": state.item,
        "category_source": ev.item_source, "category_confidence": ev.item_confidence,
        "low_confidence": ev.low_confidence, "subcategory": state.sub, "district": state.district,
        "department": c.department, "rights_claim": state.rights, "reply_type": state.reply_type or None,
        "off_hours": ev.off_hours, "repeat": bool(c.repeat_of), "repeat_of": c.repeat_of,
        "caller_hash": c.caller_hash, "title": c.title, "content": c.content, "reply": c.reply,
        "replied_at": c.replied_at, "satisfaction": c.satisfaction, "evaluated_at": c.evaluated_at,
        "withdrawn": c.withdrawn,
    }


@dataclass(slots=True)
class Prepared:
    """A batch after the stateless steps (clean, classify): what the stateful step needs to look up."""
    raws: list[bytes]
    cleaned: list[CleanEvent | Rejection]
    enriched: list[EnrichedEvent | None]  # parallel to cleaned
    ticket_ids: list[str]
    group_keys: list[str]

    def subset(self, keep: Sequence[int]) -> "Prepared":
        cleaned = [self.cleaned[i] for i in keep]
        enriched = [self.enriched[i] for i in keep]
        keys = {k: None for e in enriched if e is not None and e.group_keys for _, k in e.group_keys}
        return Prepared([self.raws[i] for i in keep], cleaned, enriched, ticket_ids(cleaned), list(keys))


class Processor:
    def __init__(self, caller_key: str, predictor: ItemPredictor, taxonomy: Taxonomy | None = None,
                 rights: Callable | None = None, emit_records: bool = True,
                 repeat_rules: RepeatRules | None = RepeatRules(), *, max_future_s: int = 86400,
                 orphan_horizon_s: int = 30 * 86400, clock: Callable[[], float] = time.time,
                 deadlines: Deadlines = Deadlines(), repeat_members: bool = False):
        """`repeat_members`: emit each new ticket's repeat-group memberships (`BatchResult.members`)
        for the repeat stage instead of joining the groups here (the worker: groups span Kafka
        partitions, so they are counted where the members topic puts them; the batch report joins
        them itself, with the same result: joining is order-independent)."""
        self.caller_key = caller_key
        self.repeat_members = repeat_members
        self.deadlines = deadlines
        self.max_future_s = max_future_s
        self.orphan_horizon_s = orphan_horizon_s
        self.clock = clock
        self.predictor = predictor
        self.taxonomy = taxonomy or load_taxonomy()
        self.rights = rights
        self.emit_records = emit_records
        self.repeat_rules = repeat_rules

    def clean_all(self, raws: Sequence[bytes]) -> list[CleanEvent | Rejection]:
        latest = int(self.clock()) + self.max_future_s
        return [clean(raw, self.caller_key, latest) for raw in raws]

    def prepare(self, raws: Sequence[bytes]) -> Prepared:
        """The stateless steps: clean and classify. Pure; safe to run before any lookup."""
        raws = list(raws)
        cleaned = self.clean_all(raws)
        valid = [c for c in cleaned if isinstance(c, CleanEvent)]
        it = iter(enrich_batch(valid, self.taxonomy, self.predictor, self.rights))
        enriched: list[EnrichedEvent | None] = [None if isinstance(c, Rejection) else next(it) for c in cleaned]
        keys: dict[str, None] = {}
        if self.repeat_rules:
            joining = [ev for ev in enriched if ev is not None and ev.item is not None]
            text_keys = (repeat_keys([ev.clean.content for ev in joining]) if "text" in self.repeat_rules.rules
                         else [None] * len(joining))
            for ev, text_key in zip(joining, text_keys):
                c = ev.clean
                ev.group_keys = group_keys(self.repeat_rules, c.caller_hash, ev.item, ev.district, text_key)
                keys.update((k, None) for _, k in ev.group_keys)
        return Prepared(raws, cleaned, enriched, ticket_ids(cleaned), [] if self.repeat_members else list(keys))

    def process(self, raws: Sequence[bytes] | Prepared, states: Mapping[str, TicketState | None],
                sources: Sequence[Source | None] | None = None,
                groups: Mapping[str, Group | None] | None = None,
                clock: PartitionClock | None = None, waiting: Iterable[str] = ()) -> BatchResult:
        """The stateful step. `states` (and `groups`) must hold every ticket id (group key) of the
        prepared batch, None when unknown, and the states of the `waiting` tickets: those with parked
        follow-ups that may fall past the orphan horizon of the partition's `clock` by the end of this
        batch (`orphan_bound`). The clock moves record by record (it is the caller's; it is advanced
        here), and a parked follow-up is orphaned as soon as the clock is past its horizon: before
        the next record of its ticket, and at the end of the batch. So what is orphaned does not
        depend on where batches begin. Without a clock nothing is orphaned."""
        prep = raws if isinstance(raws, Prepared) else self.prepare(raws)
        groups = groups or {}
        result = BatchResult(clock=clock)
        overlay: dict[str, TicketState | None] = {}
        group_overlay: dict[str, Group] = {}
        for i, item in enumerate(prep.cleaned):
            source = sources[i] if sources else None
            result.bump("records")
            if isinstance(item, Rejection):
                self._reject(result, prep.raws[i], item, "rejected", source)
                continue
            ev = prep.enriched[i]
            tid = item.ticket_id
            state = overlay[tid] if tid in overlay else states.get(tid)
            if clock is not None and state is not None and state.parked:
                state = self._orphan(result, overlay, tid, state, clock.watermark)
            was_created = state is not None and state.created
            out = count_event(ev, state, origin_of(prep.raws[i], source) if item.event in FOLLOW_UP_EVENTS else "",
                              self.deadlines)
            if out.outcome in ("duplicate", "rejected"):
                self._reject(result, prep.raws[i], out.rejection, out.outcome, source)
                continue
            overlay[tid] = result.states[tid] = out.state
            if item.event_time > result.max_event_time:
                result.max_event_time = item.event_time
            result.event_times.append(item.event_time)
            if clock is not None:
                clock.push(item.event_time)
            if out.outcome == "parked":
                result.bump("events|parked")
                continue
            result.bump("events|counted")
            result.increments.extend(out.increments)
            if self.emit_records and _evaluated_now(state, out.state) and out.state.score in BAD_RATINGS:
                # Once per ticket: the evaluation fact is counted once, by this event or by the
                # creation that released it (whose texts then come with the record).
                s = out.state
                result.callbacks.append((tid, callback_record(tid, s, s.score, s.evaluated_at, item.title,
                                                              item.content, item.reply)))
            if not was_created:
                if item.repeat_of:
                    result.repeat_examples += [(f"item:{out.state.item}", tid), (f"district:{out.state.district}", tid)]
                if ev.group_keys:
                    self._repeats(ev, out.state, groups, group_overlay, result)
            if self.emit_records:
                result.enriched.append((tid, enriched_record(ev, out.state)))
            for parked, rejection in out.released:
                self._released(result, parked, rejection, out.state)
        if clock is not None:
            for tid in dict.fromkeys([*waiting, *result.states]):
                state = overlay[tid] if tid in overlay else states.get(tid)
                if state is not None and state.parked:
                    self._orphan(result, overlay, tid, state, clock.watermark)
        return result

    @staticmethod
    def newest_event_time(prepared: Prepared) -> int:
        return max((c.event_time for c in prepared.cleaned if isinstance(c, CleanEvent)), default=0)

    def orphan_bound(self, clock: PartitionClock, prepared: Prepared) -> int | None:
        """Parked follow-ups before this time may be orphaned by the end of the batch: the clock
        cannot pass the newest event time it has seen or will see in `prepared`."""
        bound = max(clock.watermark, self.newest_event_time(prepared))
        return bound - self.orphan_horizon_s if bound else None

    def _orphan(self, result: BatchResult, overlay: dict, tid: str, state: TicketState, watermark: int) -> TicketState:
        """Release `tid`'s parked follow-ups that are past the orphan horizon of `watermark`."""
        if not watermark:
            return state
        kept, gone = orphan(state, watermark - self.orphan_horizon_s)
        for p in gone:
            raw, source = from_origin(p.origin)
            self._release(result, raw, source, Rejection(
                "orphaned", f"a {p.event} event whose ticket's creation did not arrive within "
                f"{self.orphan_horizon_s // 86400} days", tid), "orphaned")
        if gone:
            overlay[tid] = result.states[tid] = kept
        return kept

    def _released(self, result: BatchResult, parked: Parked, rejection: Rejection | None, state: TicketState) -> None:
        """A parked follow-up, released by its ticket's creation: counted, or dead-lettered."""
        raw, source = from_origin(parked.origin)
        if rejection is not None:
            self._release(result, raw, source, rejection, "duplicate" if rejection.reason == "duplicate_event" else "rejected")
            return
        result.bump("events|parked", -1)
        result.bump("events|counted")
        if self.emit_records:
            prep = self.prepare([raw])  # rare: re-read the original for its enriched record
            if prep.enriched[0] is not None:
                result.enriched.append((state_id(prep), enriched_record(prep.enriched[0], state)))

    def _release(self, result: BatchResult, raw: bytes, source: Source | None, rejection: Rejection,
                 outcome: str) -> None:
        result.bump("events|parked", -1)
        self._reject(result, raw, rejection, outcome, source)

    def _repeats(self, ev: EnrichedEvent, state: TicketState, groups, overlay, result: BatchResult) -> None:
        dims = tuple(state.dims(with_reply=False))  # a repeat is a fact of the ticket, not of its reply
        if self.repeat_members:
            for rule, key in ev.group_keys:
                result.members.append((key, member_record(rule, key, Member(ev.ticket_id, state.received_at, False, dims))))
            return
        for rule, key in ev.group_keys:
            group = overlay[key] if key in overlay else groups.get(key)
            member = Member(ev.ticket_id, state.received_at, False, dims)
            new_group, flagged = join_group(group, member, self.repeat_rules.days)
            overlay[key] = result.groups[key] = new_group
            for m in flagged:
                result.increments.append(Increment(m.received_at, list(m.dims), {f"repeat_{rule}": 1}))
                d = dict(m.dims)
                result.repeat_examples += [(f"item:{d['item']}", m.ticket_id), (f"district:{d['district']}", m.ticket_id)]

    def _reject(self, result: BatchResult, raw: bytes, rejection: Rejection, outcome: str,
                source: Source | None) -> None:
        result.bump(f"events|{outcome}")
        result.bump(f"dlq|{rejection.reason}")
        if self.emit_records:
            result.dead_letters.append((rejection.ticket_id, dead_letter(raw, rejection, source)))


FOLLOW_UP_EVENTS = frozenset({"replied", "evaluated", "withdrawn"})


def _evaluated_now(before: TicketState | None, after: TicketState) -> bool:
    return "e" in after.facts and (before is None or "e" not in before.facts)


def state_id(prep: Prepared) -> str:
    return prep.ticket_ids[0]


def ticket_ids(cleaned: Sequence[CleanEvent | Rejection]) -> list[str]:
    seen: dict[str, None] = {}
    for c in cleaned:
        if isinstance(c, CleanEvent):
            seen.setdefault(c.ticket_id, None)
    return list(seen)

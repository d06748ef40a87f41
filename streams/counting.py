"""Counting: an enriched event + the ticket's state so far -> increments and the new state.

Pure. Exactness lives here: each *fact* of a ticket (it was received, replied, evaluated, withdrawn)
is counted once, whatever order or how many times the events carrying it arrive. The same function
drives the batch report (state in a dict) and the worker (state in Redis, applied by one Lua call
per batch), so the two cannot disagree.

Each fact is counted at the time it happened: a ticket at received_at, a reply at replied_at, an
evaluation at evaluated_at, a withdrawal at the event's time. A replay of 2024 therefore lands in
2024, and a snapshot export and a lifecycle stream of the same tickets fill the same buckets.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field

from streams.cleaning import Rejection
from streams.enrich import EnrichedEvent

REPLY_TYPES = ("onsite", "explanation", "both", "neither")
SCORES = (1, 2, 3, 4, 5)

# Metric names inside a bucket; a counter field is "<dimension>|<value>|<metric>".
TICKET_METRICS = ("tickets", "off_hours", "withdrawn", "repeat", "repeat_caller", "repeat_text", "predicted", "low_confidence",
                  "replied", "response_s", "evaluated", "sat_sum") + tuple(f"reply_{t}" for t in REPLY_TYPES) \
    + tuple(f"sat_{s}" for s in SCORES)
DIMENSIONS = ("all", "item", "sub", "channel", "district", "rights", "reply")

OUTCOMES = ("counted", "duplicate", "unknown_ticket", "rejected")


@dataclass(slots=True)
class TicketState:
    """What the pipeline remembers of a ticket: which facts were counted and its dimensions."""
    facts: str = ""  # subset of "crew": created, replied, evaluated, withdrawn
    received_at: int = 0
    item: str = ""
    sub: str = ""
    channel: str = ""
    district: str = ""
    rights: str = ""
    reply_type: str = ""

    def dims(self, with_reply: bool = True) -> list[tuple[str, str]]:
        d = [("all", ""), ("item", self.item), ("sub", f"{self.item}/{self.sub}"), ("channel", self.channel),
             ("district", self.district), ("rights", self.rights)]
        if with_reply and self.reply_type:
            d.append(("reply", self.reply_type))
        return d

    def encode(self) -> str:
        return json.dumps([self.facts, self.received_at, self.item, self.sub, self.channel, self.district,
                           self.rights, self.reply_type], ensure_ascii=False, separators=(",", ":"))

    @classmethod
    def decode(cls, raw: str | bytes) -> "TicketState":
        return cls(*json.loads(raw))


@dataclass(slots=True)
class Increment:
    at: int  # Unix seconds: which time bucket
    dims: list[tuple[str, str]]
    metrics: dict[str, int]


@dataclass(slots=True)
class Outcome:
    outcome: str  # one of OUTCOMES
    increments: list[Increment] = field(default_factory=list)
    state: TicketState | None = None  # new state when it changed, else None
    rejection: Rejection | None = None


def _reply(state: TicketState, reply_type: str, replied_at: int, inc: list[Increment]) -> None:
    state.facts += "r"
    state.reply_type = reply_type or "neither"
    inc.append(Increment(replied_at, state.dims(), {
        "replied": 1, f"reply_{state.reply_type}": 1, "response_s": max(0, replied_at - state.received_at)}))


def _evaluate(state: TicketState, score: int, evaluated_at: int, inc: list[Increment]) -> None:
    state.facts += "e"
    inc.append(Increment(evaluated_at, state.dims(), {"evaluated": 1, "sat_sum": score, f"sat_{score}": 1}))


def _withdraw(state: TicketState, at: int, inc: list[Increment]) -> None:
    state.facts += "w"
    inc.append(Increment(at, state.dims(), {"withdrawn": 1}))


def count_event(ev: EnrichedEvent, state: TicketState | None) -> Outcome:
    c = ev.clean
    inc: list[Increment] = []
    if c.event in ("created", "snapshot"):
        if state is not None and "c" in state.facts and c.event == "created":
            return Outcome("duplicate", rejection=Rejection(
                "duplicate_event", "this ticket's created event was already counted", c.ticket_id))
        new = TicketState() if state is None else TicketState(**{k: getattr(state, k) for k in state.__slots__})
        if "c" not in new.facts:
            new.facts += "c"
            new.received_at = c.received_at
            new.item, new.sub, new.channel = ev.item, ev.subcategory, ev.channel
            new.district, new.rights = ev.district, ev.rights_claim
            metrics = {"tickets": 1}
            if ev.off_hours:
                metrics["off_hours"] = 1
            if c.repeat_of:
                metrics["repeat"] = 1
            if ev.item_source == "predicted":
                metrics["predicted"] = 1
                if ev.low_confidence:
                    metrics["low_confidence"] = 1
            inc.append(Increment(c.received_at, new.dims(), metrics))
        if c.event == "snapshot":
            # A snapshot carries the final state: count each fact not counted before, so a later
            # export of the same ticket adds only what changed and a repeated export adds nothing.
            if c.replied_at is not None and "r" not in new.facts:
                _reply(new, ev.reply_type, c.replied_at, inc)
            if c.satisfaction is not None and "e" not in new.facts:
                _evaluate(new, c.satisfaction, c.evaluated_at, inc)
            if c.withdrawn and "w" not in new.facts:
                _withdraw(new, c.event_time, inc)
            if not inc:
                return Outcome("duplicate", rejection=Rejection(
                    "duplicate_event", "this snapshot adds nothing to what was already counted", c.ticket_id))
        return Outcome("counted", inc, new)

    if state is None or "c" not in state.facts:
        return Outcome("unknown_ticket", rejection=Rejection(
            "unknown_ticket", f"a {c.event} event for a ticket whose creation was never counted", c.ticket_id))
    fact = {"replied": "r", "evaluated": "e", "withdrawn": "w"}[c.event]
    if fact in state.facts:
        return Outcome("duplicate", rejection=Rejection(
            "duplicate_event", f"this ticket's {c.event} event was already counted", c.ticket_id))
    new = TicketState(**{k: getattr(state, k) for k in state.__slots__})
    if c.event == "replied":
        if c.replied_at < new.received_at:
            return Outcome("rejected", rejection=Rejection(
                "impossible_time", "replied_at is before the ticket's received_at", c.ticket_id))
        _reply(new, ev.reply_type, c.replied_at, inc)
    elif c.event == "evaluated":
        if c.evaluated_at < new.received_at:
            return Outcome("rejected", rejection=Rejection(
                "impossible_time", "evaluated_at is before the ticket's received_at", c.ticket_id))
        _evaluate(new, c.satisfaction, c.evaluated_at, inc)
    else:
        _withdraw(new, c.event_time, inc)
    return Outcome("counted", inc, new)


def fields_of(increment: Increment, only: frozenset | None = None) -> dict[str, int]:
    """Flatten an increment into counter fields "<dim>|<value>|<metric>" (of some dimensions only)."""
    out: dict[str, int] = {}
    for dim, value in increment.dims:
        if only is not None and dim not in only:
            continue
        prefix = f"{dim}|{value}|"
        for metric, amount in increment.metrics.items():
            out[prefix + metric] = amount
    return out


def add_into(target: dict[str, int], fields: dict[str, int]) -> None:
    for k, v in fields.items():
        target[k] = target.get(k, 0) + v

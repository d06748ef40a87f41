"""Counting: an enriched event + the ticket's state so far -> increments and the new state.

Pure. Exactness lives here: each *fact* of a ticket (it was received, replied, evaluated, withdrawn)
is counted once, whatever order or how many times the events carrying it arrive. The same function
drives the batch report (state in a dict) and the worker (state in Redis, applied by one Lua call
per batch), so the two cannot disagree.

Each fact is counted at the time it happened: a ticket at received_at, a reply at replied_at, an
evaluation at evaluated_at, a withdrawal at the event's time. A replay of 2024 therefore lands in
2024, and a snapshot export and a lifecycle stream of the same tickets fill the same buckets.

Follow-ups (replied, evaluated, withdrawn) may arrive before their ticket's `created` event: real
platforms write intake, handling and evaluation from different systems, and an export sorted by
any other column than the event time replays them so. Such a follow-up is *parked* in the ticket's
state and counted, at its own time, when the creation arrives; a follow-up still unmatched after
the orphan horizon (of event time) is released as `orphaned`. Measured on the tipdm messages with
replies, shuffled within each month: a quarter of all replies came before their message and were
lost before parking existed.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from streams.core.cleaning import Rejection
from streams.core.enrich import EnrichedEvent
from streams.core.monitors import (BAD_RATINGS, CALLBACK, ON_TIME, Deadlines, closed_metric, due_metric,
                                   replied_on_time)

REPLY_TYPES = ("onsite", "explanation", "both", "neither")
SCORES = (1, 2, 3, 4, 5)

FOLLOW_UPS = {"replied": "r", "evaluated": "e", "withdrawn": "w"}


@dataclass(frozen=True, slots=True)
class Parked:
    """A follow-up waiting for its ticket's creation: what it says, and where it came from."""
    event: str  # replied | evaluated | withdrawn
    at: int  # when it happened: replied_at, evaluated_at, or the withdrawal's event time
    value: str  # the reply type, or the satisfaction score
    origin: str = ""  # opaque to counting: the pipeline keeps the original record here


@dataclass(slots=True)
class TicketState:
    """What the pipeline remembers of a ticket: which facts were counted and its dimensions.

    A ticket whose creation has not arrived has no facts, only `parked` follow-ups."""
    facts: str = ""  # subset of "crew": created, replied, evaluated, withdrawn
    received_at: int = 0
    item: str = ""
    sub: str = ""
    channel: str = ""
    district: str = ""
    rights: str = ""
    reply_type: str = ""
    score: int = 0  # the evaluation, kept so a reply counted after it can credit its reply type
    evaluated_at: int = 0
    parked: tuple[Parked, ...] = ()

    @property
    def created(self) -> bool:
        return "c" in self.facts

    def copy(self) -> "TicketState":
        return TicketState(self.facts, self.received_at, self.item, self.sub, self.channel, self.district,
                           self.rights, self.reply_type, self.score, self.evaluated_at, self.parked)

    def dims(self, with_reply: bool = True) -> list[tuple[str, str]]:
        d = [("all", ""), ("item", self.item), ("sub", f"{self.item}/{self.sub}"), ("channel", self.channel),
             ("district", self.district), ("rights", self.rights)]
        if with_reply and self.reply_type:
            d.append(("reply", self.reply_type))
        return d


@dataclass(slots=True)
class Increment:
    at: int  # Unix seconds: which time bucket
    dims: list[tuple[str, str]]
    metrics: dict[str, int]


@dataclass(slots=True)
class Outcome:
    outcome: str  # counted | parked | duplicate | rejected
    increments: list[Increment] = field(default_factory=list)
    state: TicketState | None = None  # new state when it changed, else None
    rejection: Rejection | None = None
    # Parked follow-ups this event released: (follow-up, None when counted, else why it was not).
    released: list[tuple[Parked, Rejection | None]] = field(default_factory=list)


def _evaluation(score: int) -> dict[str, int]:
    metrics = {"evaluated": 1, "sat_sum": score, f"sat_{score}": 1}
    if score in BAD_RATINGS:
        metrics[CALLBACK] = 1  # 差评回访: a call-back is due (streams/core/monitors.py)
    return metrics


def _close(state: TicketState, deadlines: Deadlines, inc: list[Increment]) -> None:
    """The first reply or withdrawal closes the ticket, counted where it was received (monitors.py)."""
    if "r" not in state.facts and "w" not in state.facts:
        inc.append(Increment(state.received_at, state.dims(with_reply=False),
                             {closed_metric(deadlines.days(state.item)): 1}))


def _reply(state: TicketState, reply_type: str, replied_at: int, inc: list[Increment], deadlines: Deadlines) -> None:
    _close(state, deadlines, inc)
    state.facts += "r"
    state.reply_type = reply_type or "neither"
    metrics = {"replied": 1, f"reply_{state.reply_type}": 1, "response_s": max(0, replied_at - state.received_at)}
    if replied_on_time(state.received_at, replied_at, deadlines.days(state.item)):
        metrics[ON_TIME] = 1
    inc.append(Increment(replied_at, state.dims(), metrics))
    if "e" in state.facts:
        # The evaluation came first (any arrival order is allowed): credit it to the reply type now,
        # at its own time, as it would have been had the reply come first.
        inc.append(Increment(state.evaluated_at, [("reply", state.reply_type)], _evaluation(state.score)))


def _evaluate(state: TicketState, score: int, evaluated_at: int, inc: list[Increment]) -> None:
    state.facts += "e"
    state.score, state.evaluated_at = score, evaluated_at
    inc.append(Increment(evaluated_at, state.dims(), _evaluation(score)))


def _withdraw(state: TicketState, at: int, inc: list[Increment], deadlines: Deadlines) -> None:
    _close(state, deadlines, inc)
    state.facts += "w"
    # Not by reply type: a withdrawal says nothing about a reply, and it may come before or after one.
    inc.append(Increment(at, state.dims(with_reply=False), {"withdrawn": 1}))


def _follow_up(state: TicketState, p: Parked, ticket_id: str, inc: list[Increment],
               deadlines: Deadlines) -> Rejection | None:
    """Count one follow-up against a created ticket; a Rejection when it cannot be counted."""
    fact = FOLLOW_UPS[p.event]
    if fact in state.facts:
        return Rejection("duplicate_event", f"this ticket's {p.event} event was already counted", ticket_id)
    if p.event != "withdrawn" and p.at < state.received_at:
        return Rejection("impossible_time", f"{p.event}_at is before the ticket's received_at", ticket_id)
    if p.event == "replied":
        _reply(state, p.value, p.at, inc, deadlines)
    elif p.event == "evaluated":
        _evaluate(state, int(p.value), p.at, inc)
    else:
        _withdraw(state, p.at, inc, deadlines)
    return None


def as_parked(ev: EnrichedEvent, origin: str = "") -> Parked:
    c = ev.clean
    if c.event == "replied":
        return Parked("replied", c.replied_at, ev.reply_type or "neither", origin)
    if c.event == "evaluated":
        return Parked("evaluated", c.evaluated_at, str(c.satisfaction), origin)
    return Parked("withdrawn", c.event_time, "", origin)


DEFAULT_DEADLINES = Deadlines()


def count_event(ev: EnrichedEvent, state: TicketState | None, origin: str = "",
                deadlines: Deadlines = DEFAULT_DEADLINES) -> Outcome:
    """Count one event against its ticket's state. `origin` travels with a parked follow-up;
    `deadlines` say when a reply is on time (the default: 15 days for every item)."""
    c = ev.clean
    inc: list[Increment] = []
    if c.event in ("created", "snapshot"):
        if state is not None and state.created and c.event == "created":
            return Outcome("duplicate", rejection=Rejection(
                "duplicate_event", "this ticket's created event was already counted", c.ticket_id))
        new = TicketState() if state is None else state.copy()
        released: list[tuple[Parked, Rejection | None]] = []
        if not new.created:
            new.facts += "c"
            new.received_at = c.received_at
            new.item, new.sub, new.channel = ev.item, ev.subcategory, ev.channel
            new.district, new.rights = ev.district, ev.rights_claim
            metrics = {"tickets": 1, due_metric(deadlines.days(new.item)): 1}
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
                _reply(new, ev.reply_type, c.replied_at, inc, deadlines)
            if c.satisfaction is not None and "e" not in new.facts:
                _evaluate(new, c.satisfaction, c.evaluated_at, inc)
            if c.withdrawn and "w" not in new.facts:
                _withdraw(new, c.event_time, inc, deadlines)
        # Parked follow-ups count now, in the order they happened, each at its own time: the same
        # increments as if they had arrived after the creation.
        parked, new.parked = new.parked, ()
        for p in sorted(parked, key=lambda p: (p.at, p.event)):
            released.append((p, _follow_up(new, p, c.ticket_id, inc, deadlines)))
        if c.event == "snapshot" and not inc:
            return Outcome("duplicate", rejection=Rejection(
                "duplicate_event", "this snapshot adds nothing to what was already counted", c.ticket_id))
        return Outcome("counted", inc, new, released=released)

    fact = FOLLOW_UPS[c.event]
    if state is None or not state.created:
        # Park it until the creation arrives; a second copy of a parked follow-up is a duplicate.
        if state is not None and any(FOLLOW_UPS[p.event] == fact for p in state.parked):
            return Outcome("duplicate", rejection=Rejection(
                "duplicate_event", f"this ticket's {c.event} event is already waiting for its creation", c.ticket_id))
        new = TicketState() if state is None else state.copy()
        new.parked = new.parked + (as_parked(ev, origin),)
        return Outcome("parked", state=new)
    new = state.copy()
    rejection = _follow_up(new, as_parked(ev), c.ticket_id, inc, deadlines)
    if rejection is not None:
        return Outcome("duplicate" if rejection.reason == "duplicate_event" else "rejected", rejection=rejection)
    return Outcome("counted", inc, new)


def orphan(state: TicketState, before: int) -> tuple[TicketState, list[Parked]]:
    """Release the parked follow-ups that happened before `before` (the orphan horizon)."""
    gone = [p for p in state.parked if p.at < before]
    if not gone:
        return state, []
    new = state.copy()
    new.parked = tuple(p for p in state.parked if p.at >= before)
    return new, gone


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


class FieldTotals:
    """Increments summed per (dimension, value) and metric; flattened to counter fields once, at the end.

    Building every "<dim>|<value>|<metric>" string per increment and target, as `fields_of` does,
    was most of the time the worker spent encoding a batch for Redis."""
    __slots__ = ("sums",)

    def __init__(self) -> None:
        self.sums: dict[tuple[str, str], dict[str, int]] = {}

    def add(self, dims: list[tuple[str, str]], metrics: dict[str, int]) -> None:
        sums = self.sums
        for dv in dims:
            acc = sums.get(dv)
            if acc is None:
                sums[dv] = metrics.copy()
            else:
                for name, amount in metrics.items():
                    acc[name] = acc.get(name, 0) + amount

    def merge(self, other: "FieldTotals") -> None:
        for dv, metrics in other.sums.items():
            self.add((dv,), metrics)

    def flat(self) -> list:
        """[field, amount, field, amount, ...]: the fields `fields_of` gives, summed, zeros left out."""
        return [x for (dim, value), acc in self.sums.items() for name, amount in acc.items() if amount
                for x in (f"{dim}|{value}|{name}", amount)]


def add_into(target: dict[str, int], fields: dict[str, int]) -> None:
    for k, v in fields.items():
        target[k] = target.get(k, 0) + v

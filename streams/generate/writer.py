"""Tickets -> raw event records (dicts) in snapshot or lifecycle order.

Both functions are generators of (record dict, event time) and hold at most the tickets still
"in flight": the lifecycle mode keeps follow-up events in a heap keyed by event time and releases
them as the created events of later tickets pass their time, so the output is in event-time order
without the whole year in memory.
"""
from __future__ import annotations

import heapq
import json
from typing import Iterable, Iterator

from streams.generate.model import Ticket, iso

Record = dict


def dumps(rec: Record) -> bytes:
    """One JSON Lines record (without the newline): UTF-8, Chinese as is, compact separators."""
    return json.dumps(rec, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def _description(t: Ticket) -> dict:
    """The fields a created (or snapshot) event carries about the citizen's request."""
    rec = {
        "received_at": iso(t.received),
        "channel": t.channel_raw,
    }
    if t.category_shown == "yes":
        rec["category"] = t.item
        rec["subcategory"] = t.subcategory
    elif t.category_shown == "null":
        rec["category"] = None
        rec["subcategory"] = None
    rec.update(district=t.district, department=t.department, caller=t.caller, title=t.title,
               content=t.content, repeat_of=t.repeat_of)
    return rec


def snapshot_record(t: Ticket) -> Record:
    rec = {"ticket_id": t.ticket_id, "event": "snapshot", "event_time": iso(t.last_time)}
    rec.update(_description(t))
    rec.update(
        reply=t.reply,
        replied_at=iso(t.replied_at) if t.replied_at is not None else None,
        satisfaction=t.satisfaction,
        evaluated_at=iso(t.evaluated_at) if t.evaluated_at is not None else None,
        withdrawn=t.withdrawn_at is not None,
    )
    return rec


def created_record(t: Ticket) -> Record:
    rec = {"ticket_id": t.ticket_id, "event": "created", "event_time": iso(t.received)}
    rec.update(_description(t))
    return rec


def follow_ups(t: Ticket) -> list[tuple[int, int, Record]]:
    """(time, order, record) of the events after creation; order breaks ties within a ticket."""
    if t.withdrawn_at is not None:
        w = iso(t.withdrawn_at)
        return [(t.withdrawn_at, 1, {"ticket_id": t.ticket_id, "event": "withdrawn", "event_time": w, "withdrawn": True})]
    out = []
    if t.replied_at is not None:
        r = iso(t.replied_at)
        out.append((t.replied_at, 1, {"ticket_id": t.ticket_id, "event": "replied", "event_time": r,
                                      "reply": t.reply, "replied_at": r}))
    if t.evaluated_at is not None:
        e = iso(t.evaluated_at)
        out.append((t.evaluated_at, 2, {"ticket_id": t.ticket_id, "event": "evaluated", "event_time": e,
                                        "satisfaction": t.satisfaction, "evaluated_at": e}))
    return out


def snapshot_events(tickets: Iterable[Ticket]) -> Iterator[tuple[Record, int]]:
    """One snapshot per ticket, in received order."""
    for t in tickets:
        yield snapshot_record(t), t.received


def lifecycle_events(tickets: Iterable[Ticket]) -> Iterator[tuple[Record, int]]:
    """created / replied / evaluated / withdrawn events of all tickets, in event-time order.

    Tickets arrive in received order, so when a ticket is created every pending event not later
    than its receipt is due. Ties go to the earlier-queued event (created before its follow-ups
    because follow-ups are strictly later: the minimum delays are positive).
    """
    pending: list[tuple[int, int, int, Record]] = []
    for t in tickets:
        while pending and pending[0][0] <= t.received:
            time, _, _, rec = heapq.heappop(pending)
            yield rec, time
        yield created_record(t), t.received
        for time, order, rec in follow_ups(t):
            heapq.heappush(pending, (time, t.seq, order, rec))
    while pending:
        time, _, _, rec = heapq.heappop(pending)
        yield rec, time

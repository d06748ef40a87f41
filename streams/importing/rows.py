"""One row of an export -> the contract's events for its ticket, and what went wrong with it.

Pure: no I/O. A row either becomes events or is rejected with a reason; a fact of a row that
cannot be read (an unknown rating word, a reply without a time) is dropped with a reason while the
ticket itself is kept. Values the contract accepts but the counting step will dead-letter (a reply
dated before the ticket was received) are written as they are and flagged, because the counting
step is where such records are counted and explained.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from schemas.taxonomy import UNKNOWN, Taxonomy
from streams.core.cleaning import MAX_SHORT_CHARS, MAX_TEXT_CHARS
from streams.importing import values as v

# Problem kinds, in the order the summary lists them.
REJECTED, DROPPED, WRITTEN = "rejected", "dropped", "written"
KIND_TITLES = {
    REJECTED: "rows rejected (no event written)",
    DROPPED: "facts not written (the ticket is kept)",
    WRITTEN: "written as they are (the counting step dead-letters them)",
}


@dataclass(frozen=True, slots=True)
class Problem:
    kind: str
    reason: str
    message: str


@dataclass(frozen=True)
class Options:
    taxonomy: Taxonomy
    ratings: dict[str, int] = field(default_factory=lambda: dict(v.DEFAULT_RATINGS))
    channel: str = UNKNOWN  # for rows whose channel is blank or that have no channel column
    snapshot: bool = False
    # value -> what the taxonomy makes of it; the district lookup scans its aliases for unknown
    # names, and an export repeats a few hundred distinct values a million times.
    _seen: dict = field(default_factory=dict, compare=False, repr=False)

    def knows(self, kind: str, value: str) -> bool:
        key = (kind, value)
        hit = self._seen.get(key)
        if hit is None:
            t = self.taxonomy
            hit = {"channel": lambda: value == UNKNOWN or t.channel(value) != UNKNOWN,
                   "district": lambda: value == UNKNOWN or t.district(value) != UNKNOWN,
                   "item": lambda: t.item(value) is not None}[kind]()
            if len(self._seen) < 100_000:
                self._seen[key] = hit
        return hit


@dataclass(slots=True)
class Converted:
    ticket_id: str | None
    events: list[tuple[int, dict]]  # (event time, record), created/snapshot first
    problems: list[Problem]
    notes: list[tuple[str, str]]  # (what, value): defaults taken, values the taxonomy does not know


def _short(cells: dict[str, object], name: str) -> str | None:
    s = v.text(cells.get(name))
    if not s:
        return None
    limit = MAX_SHORT_CHARS.get(name, MAX_TEXT_CHARS)
    if len(s) > limit:
        raise v.BadValue("oversized", f"{name} has {len(s)} characters, the contract allows {limit}")
    return s


def _time(cells: dict[str, object], name: str, notes: list) -> v.Moment | None:
    m = v.moment(cells.get(name), name)
    if m is not None and m.date_only:
        notes.append(("date_only_time", name))
    return m


def convert(cells: dict[str, object], opt: Options) -> Converted:
    """cells: field -> cell value of one row (fields from columns.ALIASES)."""
    problems: list[Problem] = []
    notes: list[tuple[str, str]] = []
    tid = None
    try:
        tid = v.ticket_id(cells.get("ticket_id"))
        try:
            received = _time(cells, "received_at", notes)
        except v.BadValue as bad:
            raise v.BadValue("invalid_received_at", bad.message) from None
        if received is None:
            raise v.BadValue("missing_received_at", "the received time is blank")
        title = _short(cells, "title")
        content = _short(cells, "content")
        if content is None:
            if title is None:
                raise v.BadValue("missing_content", "both the content and the title are blank")
            content = title
            notes.append(("content_from_title", "content"))
        channel = _short(cells, "channel")
        if channel is None:
            channel = opt.channel
            notes.append(("channel_defaulted", channel))
        described = {"ticket_id": tid, "event": "created", "event_time": received.iso, "received_at": received.iso,
                     "channel": channel}
        for name in ("category", "subcategory", "district", "department", "caller"):
            value = _short(cells, name)
            if value is not None:
                described[name] = value
        if title is not None:
            described["title"] = title
        described["content"] = content
        reply = v.text(cells.get("reply"))
        if len(reply) > MAX_TEXT_CHARS:
            raise v.BadValue("oversized", f"reply has {len(reply)} characters, the contract allows {MAX_TEXT_CHARS}")
    except v.BadValue as bad:
        return Converted(tid, [], [Problem(REJECTED, bad.reason, bad.message)], notes)

    _taxonomy_notes(described, opt, notes)

    replied = _fact(problems, lambda: _time(cells, "replied_at", notes), "invalid_replied_at")
    if reply and replied is None and not _failed(problems, "invalid_replied_at"):
        problems.append(Problem(DROPPED, "reply_without_time", "a reply without a reply time"))
    score = _fact(problems, lambda: v.rating(cells.get("satisfaction"), opt.ratings), "unknown_rating")
    evaluated = _fact(problems, lambda: _time(cells, "evaluated_at", notes), "invalid_evaluated_at")
    if score is None:
        evaluated = None
    elif evaluated is None:
        if not _failed(problems, "invalid_evaluated_at"):
            problems.append(Problem(DROPPED, "rating_without_time", f"satisfaction {score} without an evaluation time"))
        score = None
    withdrawn = _fact(problems, lambda: v.flag(cells.get("withdrawn")) if "withdrawn" in cells else False,
                      "unknown_withdrawn")
    withdrawn_at = _fact(problems, lambda: _time(cells, "withdrawn_at", notes), "invalid_withdrawn_at") or received
    if replied is not None and replied.ts < received.ts:
        problems.append(Problem(WRITTEN, "reply_before_received", f"replied {replied.iso}, received {received.iso}"))
    if evaluated is not None and evaluated.ts < received.ts:
        problems.append(Problem(WRITTEN, "evaluation_before_received",
                                f"evaluated {evaluated.iso}, received {received.iso}"))

    if opt.snapshot:
        snap = dict(described, event="snapshot")
        last = max((m for m in (received, replied, evaluated, withdrawn_at if withdrawn else None) if m),
                   key=lambda m: m.ts)
        snap["event_time"] = last.iso
        if replied is not None:
            snap.update(reply=reply, replied_at=replied.iso)
        if score is not None:
            snap.update(satisfaction=score, evaluated_at=evaluated.iso)
        if withdrawn:
            snap["withdrawn"] = True
        return Converted(tid, [(last.ts, snap)], problems, notes)

    events = [(received.ts, described)]
    if replied is not None:
        # A reply time with a blank text is still a reply (办结 without 办理结果): the contract takes "".
        events.append((replied.ts, {"ticket_id": tid, "event": "replied", "event_time": replied.iso,
                                    "reply": reply, "replied_at": replied.iso}))
    if score is not None:
        events.append((evaluated.ts, {"ticket_id": tid, "event": "evaluated", "event_time": evaluated.iso,
                                      "satisfaction": score, "evaluated_at": evaluated.iso}))
    if withdrawn:
        # Exports carry a 撤件 flag, rarely its time: without a 撤件时间 column it is dated at receipt.
        events.append((withdrawn_at.ts, {"ticket_id": tid, "event": "withdrawn", "event_time": withdrawn_at.iso,
                                         "withdrawn": True}))
    return Converted(tid, events, problems, notes)


def _fact(problems: list[Problem], read, reason: str):
    try:
        return read()
    except v.BadValue as bad:
        problems.append(Problem(DROPPED, reason, bad.message))
        return None


def _failed(problems: list[Problem], reason: str) -> bool:
    return any(p.reason == reason for p in problems)


def _taxonomy_notes(described: dict, opt: Options, notes: list) -> None:
    """Raw values pass to the contract unchanged (classify() normalises them); the summary lists
    those the taxonomy will count as 其他 or predict from the text, so none is lost unseen."""
    if not opt.knows("channel", described["channel"]):
        notes.append(("channel_as_other", described["channel"]))
    district = described.get("district")
    if district is not None and not opt.knows("district", district):
        notes.append(("district_as_other", district))
    category = described.get("category")
    if category is not None and not opt.knows("item", category):
        notes.append(("item_predicted", category))

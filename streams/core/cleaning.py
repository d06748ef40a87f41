"""Cleaning: raw bytes from a producer -> a validated, normalised, privacy-safe ticket event.

Pure: no I/O, no clock (the caller passes the latest acceptable time). The batch report and the
worker call the same `clean()`, which is what lets the live counters equal the report. Every failure is a `Rejection` with a reason code from
`REASONS`; nothing raises for bad input.

The checks mirror schemas/ticket_event.schema.json by hand because the worker runs them on every
record (a generic validator costs ~10x more); tests/test_contract.py proves the two agree.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import math
import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from streams.text.masking import mask_personal_numbers

SHANGHAI = timezone(timedelta(hours=8), "Asia/Shanghai")

EVENTS = ("created", "replied", "evaluated", "withdrawn", "snapshot")

# Reason codes of dead-letter records. Stable: they are Prometheus label values and DLQ fields.
REASONS = {
    "invalid_utf8": "the record is not valid UTF-8",
    "invalid_json": "the record is not parseable JSON",
    "not_an_object": "the record is JSON but not an object",
    "missing_field": "a field the event needs is missing",
    "wrong_type": "a field has the wrong type",
    "invalid_value": "a field has a value outside the contract",
    "invalid_time": "a time is not ISO-8601",
    "impossible_time": "a time is out of range or out of order",
    "future_time": "a time is further ahead of the wall clock than HOTLINE_MAX_FUTURE_SECONDS allows",
    "oversized": "the record or one of its texts is too large",
    "duplicate_event": "this ticket event was already counted",
    "orphaned": "a follow-up whose ticket's creation did not arrive within the orphan horizon",
}

MAX_RECORD_BYTES = 64 * 1024
MAX_TEXT_CHARS = 20_000
MAX_SHORT_CHARS = {"channel": 32, "category": 64, "subcategory": 64, "district": 64, "department": 128,
                   "caller": 64, "repeat_of": 64, "title": 500}
# Times before the platform era or far in the future are typos or attacks, not tickets.
MIN_TIME = int(datetime(2000, 1, 1, tzinfo=SHANGHAI).timestamp())
MAX_TIME = int(datetime(2100, 1, 1, tzinfo=SHANGHAI).timestamp())

_TICKET_ID = re.compile(r"[A-Za-z0-9_.:\-]{1,64}")
_ISO = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}:?\d{2})?")
_DIGITS = re.compile(r"\d+")


@dataclass(frozen=True, slots=True)
class Rejection:
    reason: str
    message: str
    ticket_id: str | None = None


@dataclass(frozen=True, slots=True)
class CleanEvent:
    ticket_id: str
    event: str
    event_time: int  # Unix seconds
    received_at: int | None
    channel: str | None  # raw, stripped; mapped to the taxonomy's channels by enrich.enrich_batch
    category: str | None
    subcategory: str | None
    district: str | None
    department: str | None
    caller_hash: str | None
    title: str | None  # masked
    content: str | None  # masked
    reply: str | None  # masked
    replied_at: int | None
    satisfaction: int | None
    evaluated_at: int | None
    withdrawn: bool
    repeat_of: str | None


class _Bad(Exception):
    def __init__(self, reason: str, message: str):
        self.reason, self.message = reason, message


def parse_time(value: object, field: str) -> int:
    """ISO-8601 -> Unix seconds; a time without an offset is Shanghai time (the platforms' habit)."""
    if not isinstance(value, str):
        raise _Bad("wrong_type", f"{field} must be an ISO-8601 string, got {type(value).__name__}")
    if len(value) > 40 or not _ISO.fullmatch(value):
        raise _Bad("invalid_time", f"{field} is not ISO-8601: {value[:40]!r}")
    try:
        dt = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise _Bad("invalid_time", f"{field} is not a valid date-time: {value!r}") from None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=SHANGHAI)
    ts = math.floor(dt.timestamp())
    if not MIN_TIME <= ts < MAX_TIME:
        raise _Bad("impossible_time", f"{field} {value!r} is outside 2000–2099")
    return ts


def hash_caller(caller: str, key: str) -> str:
    """Keyed hash so equal numbers match across tickets, yet the 10^11 mobile space can't be enumerated."""
    digits = "".join(_DIGITS.findall(caller))
    if digits.startswith("86") and len(digits) == 13:
        digits = digits[2:]
    return hmac.new(key.encode(), (digits or caller.strip()).encode(), hashlib.sha256).hexdigest()[:20]


def _opt_str(doc: dict, field: str) -> str | None:
    value = doc.get(field)
    if value is None:
        return None
    if not isinstance(value, str):
        raise _Bad("wrong_type", f"{field} must be a string, got {type(value).__name__}")
    limit = MAX_SHORT_CHARS.get(field, MAX_TEXT_CHARS)
    if len(value) > limit:
        raise _Bad("oversized", f"{field} has {len(value)} characters, the limit is {limit}")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        # JSON can carry lone surrogates (\ud800); they cannot be stored or produced downstream.
        raise _Bad("invalid_value", f"{field} contains an unpaired UTF-16 surrogate") from None
    value = value.strip()
    return value or None


def _opt_time(doc: dict, field: str) -> int | None:
    value = doc.get(field)
    return None if value is None else parse_time(value, field)


def _validate(doc: dict, caller_key: str, latest: int | None) -> CleanEvent:
    if "ticket_id" not in doc or doc["ticket_id"] is None:
        raise _Bad("missing_field", "ticket_id is missing")
    tid = doc["ticket_id"]
    if not isinstance(tid, str):
        raise _Bad("wrong_type", f"ticket_id must be a string, got {type(tid).__name__}")
    if not _TICKET_ID.fullmatch(tid):
        raise _Bad("invalid_value", "ticket_id must be 1–64 characters of A-Z a-z 0-9 _ . : -")
    event = doc.get("event")
    if event is None:
        raise _Bad("missing_field", "event is missing")
    if not isinstance(event, str):
        raise _Bad("wrong_type", f"event must be a string, got {type(event).__name__}")
    if event not in EVENTS:
        raise _Bad("invalid_value", f"event must be one of {', '.join(EVENTS)}, got {event[:32]!r}")
    if doc.get("event_time") is None:
        raise _Bad("missing_field", "event_time is missing")

    need = {"created": ("received_at", "channel", "content"), "snapshot": ("received_at", "channel", "content"),
            "replied": ("reply", "replied_at"), "evaluated": ("satisfaction", "evaluated_at"), "withdrawn": ()}[event]
    for field in need:
        if doc.get(field) is None:
            raise _Bad("missing_field", f"a {event} event needs {field}")

    # Types before values, so a wrong type is reported as such and not as a bad time.
    for field in ("channel", "category", "subcategory", "district", "department", "caller", "title",
                  "content", "reply", "repeat_of"):
        value = doc.get(field)
        if value is not None and not isinstance(value, str):
            raise _Bad("wrong_type", f"{field} must be a string, got {type(value).__name__}")
    sat = doc.get("satisfaction")
    if sat is not None and (isinstance(sat, bool) or not isinstance(sat, int)):
        raise _Bad("wrong_type", f"satisfaction must be an integer 1–5, got {type(sat).__name__}")
    wd = doc.get("withdrawn")
    if wd is not None and not isinstance(wd, bool):
        raise _Bad("wrong_type", f"withdrawn must be true or false, got {type(wd).__name__}")
    for field in ("event_time", "received_at", "replied_at", "evaluated_at"):
        value = doc.get(field)
        if value is not None and not isinstance(value, str):
            raise _Bad("wrong_type", f"{field} must be an ISO-8601 string, got {type(value).__name__}")

    if sat is not None and not 1 <= sat <= 5:
        raise _Bad("invalid_value", f"satisfaction must be 1–5, got {sat}")
    if event == "withdrawn" and wd is False:
        raise _Bad("invalid_value", "a withdrawn event cannot say withdrawn: false")

    channel = _opt_str(doc, "channel")
    category = _opt_str(doc, "category")
    subcategory = _opt_str(doc, "subcategory")
    district = _opt_str(doc, "district")
    department = _opt_str(doc, "department")
    caller = _opt_str(doc, "caller")
    title = _opt_str(doc, "title")
    content = _opt_str(doc, "content")
    reply = _opt_str(doc, "reply")
    repeat_of = _opt_str(doc, "repeat_of")
    if event in ("created", "snapshot") and (content is None or channel is None):
        raise _Bad("missing_field", f"a {event} event needs a non-empty {'content' if content is None else 'channel'}")
    if repeat_of is not None and not _TICKET_ID.fullmatch(repeat_of):
        raise _Bad("invalid_value", "repeat_of must be a ticket id")

    event_time = parse_time(doc["event_time"], "event_time")
    received_at = _opt_time(doc, "received_at")
    replied_at = _opt_time(doc, "replied_at")
    evaluated_at = _opt_time(doc, "evaluated_at")
    if received_at is not None:
        if replied_at is not None and replied_at < received_at:
            raise _Bad("impossible_time", "replied_at is before received_at")
        if evaluated_at is not None and evaluated_at < received_at:
            raise _Bad("impossible_time", "evaluated_at is before received_at")
    if replied_at is not None and evaluated_at is not None and evaluated_at < replied_at:
        raise _Bad("impossible_time", "evaluated_at is before replied_at")
    if latest is not None:
        # One record from the future would move the window clock there and empty every window.
        for field, ts in (("event_time", event_time), ("received_at", received_at), ("replied_at", replied_at),
                          ("evaluated_at", evaluated_at)):
            if ts is not None and ts > latest:
                raise _Bad("future_time", f"{field} {doc[field]!r} is ahead of the wall clock")
    if event == "snapshot" and sat is not None and evaluated_at is None:
        raise _Bad("missing_field", "a snapshot with a satisfaction score needs evaluated_at")
    if event == "snapshot" and (reply is None) != (replied_at is None):
        raise _Bad("missing_field", "a snapshot needs both reply and replied_at, or neither")

    return CleanEvent(
        ticket_id=tid, event=event, event_time=event_time, received_at=received_at, channel=channel,
        category=category, subcategory=subcategory, district=district, department=department,
        caller_hash=hash_caller(caller, caller_key) if caller else None,
        title=mask_personal_numbers(title) if title else None,
        content=mask_personal_numbers(content) if content else None,
        reply=mask_personal_numbers(reply) if reply else None,
        replied_at=replied_at, satisfaction=sat, evaluated_at=evaluated_at,
        withdrawn=bool(wd) or event == "withdrawn", repeat_of=repeat_of,
    )


def _guess_id(doc: object) -> str | None:
    if isinstance(doc, dict):
        tid = doc.get("ticket_id")
        if isinstance(tid, str) and _TICKET_ID.fullmatch(tid):
            return tid
    return None


def clean(raw: bytes, caller_key: str, latest: int | None = None) -> CleanEvent | Rejection:
    """Validate and normalise one raw record. Never raises for bad input.

    `latest`: the latest acceptable time (the wall clock plus the allowed skew); None: no bound."""
    if len(raw) > MAX_RECORD_BYTES:
        return Rejection("oversized", f"the record has {len(raw)} bytes, the limit is {MAX_RECORD_BYTES}")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return Rejection("invalid_utf8", f"invalid UTF-8 at byte {exc.start}")
    try:
        doc = json.loads(text)
    except (ValueError, RecursionError) as exc:
        return Rejection("invalid_json", f"not JSON: {str(exc)[:120]}")
    if not isinstance(doc, dict):
        return Rejection("not_an_object", f"expected a JSON object, got {type(doc).__name__}")
    try:
        return _validate(doc, caller_key, latest)
    except _Bad as bad:
        return Rejection(bad.reason, bad.message, _guess_id(doc))
    except (RecursionError, OverflowError, ValueError) as exc:  # defensive: hostile values
        return Rejection("invalid_value", f"unusable value: {str(exc)[:120]}", _guess_id(doc))

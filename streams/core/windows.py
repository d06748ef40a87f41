"""Event-time buckets and the windows read from them.

Three resolutions, each kept only as long as the windows it serves need it, so reads stay cheap
(a 30-day window is 30 daily buckets, not 8,640 five-minute ones) and memory stays bounded:

    5 min buckets, kept 2 h   -> window 1h             (by item, channel, district: watched metrics)
    1 h   buckets, kept 29 d  -> windows 24h and 7d, and the same hours of 4 previous weeks for
                                 the rising-items score (by item, channel, district: watched metrics)
    1 d   buckets, kept 32 d  -> window 30d           (every dimension)
    all-time totals            -> window all           (every dimension)

Retention is measured against the watermark (the newest event time seen), not the wall clock, so a
replay of 2024 keeps 2024's last month of buckets. Windows are bucket-aligned: "1h" is the twelve
5-minute buckets ending with the one that holds the window's end, "24h" the 24 hourly ones.

A bucket older than its retention at the end of a batch is never written (it would be pruned by the
same batch), so a replay or a catch-up, whose batches span many hours of event time, writes the
5-minute buckets only for its last two hours. Measured on 200,000 records of the generated year in
two partitions and batches of 2,000 (each spanning ~36 h of event time): while the 24h window read
5-minute buckets kept 26 h, a record cost 18.0 counter fields in Redis, 7.4 of them 5-minute ones;
with 24h read from the hourly buckets and 5-minute ones kept 2 h, 11.1 (0.6). Live traffic, whose
batches span seconds, writes the same as before.
"""
from __future__ import annotations

from dataclasses import dataclass


# The short windows are for watching and alerting: they break down by item, channel and district
# only, which halves the writes of the two finest resolutions. 30d and all-time keep every dimension.
WATCH_DIMENSIONS = frozenset({"all", "item", "channel", "district"})
# And by those three only for what a live view reads of them: the exporter (tickets, repeats,
# evaluations and satisfaction per item, channel, district), the spike monitor (repeats by rule per item
# and district), the rising score (tickets), and the study page's live tables (satisfaction per item
# and channel, reply types per item, the district league's response time). The handling figures per
# breakdown (on-time replies, open and closed, deadlines, the score histogram, call-backs, off-hours
# and withdrawals) are monthly figures, read from the daily buckets (30d) and all-time; the "all" row
# of every bucket keeps every metric. Measured on 200,000 records of the generated year (4 partitions,
# batches of 2,000): hourly fields per record 7.9 -> 4.5, and 13.6 -> 10.0 over all resolutions.
WATCH_METRICS = frozenset({"tickets", "repeat", "repeat_caller", "repeat_text", "evaluated", "sat_sum", "replied",
                           "response_s", "reply_onsite", "reply_explanation", "reply_both", "reply_neither"})


@dataclass(frozen=True)
class Resolution:
    name: str
    seconds: int
    retention: int
    dimensions: frozenset | None = None  # None: every dimension
    metrics: frozenset | None = None  # of the dimensions other than "all"; None: every metric

    def carries(self, dim: str, metric: str) -> bool:
        """Whether this resolution's buckets hold the field `dim|<value>|metric`."""
        return ((self.dimensions is None or dim in self.dimensions)
                and (self.metrics is None or dim == "all" or metric in self.metrics))


RESOLUTIONS = (
    # Two hours: the 1h window reads twelve buckets; the second hour is room for records that arrive
    # a little late and for a reader whose window ends a little before the newest event time.
    Resolution("5m", 300, 2 * 3600, WATCH_DIMENSIONS, WATCH_METRICS),
    # 29 days, not 8: the rising-items score (monitors.py) compares the last 3 hours with the same
    # hours of the 4 previous weeks (28 days + 3 h). Measured on a generated year of 100,000 tickets
    # (273 a day): an hourly bucket holds 169 fields, 5.8 KB in Redis (12.4 KB at most), so the 21
    # extra days cost 2.9 MB per namespace; a bucket with every field of every item, channel and
    # district filled (2,025 fields) takes 162 KB, which bounds them at 83 MB whatever the volume.
    # (Both before WATCH_METRICS: a full bucket now has 12 metrics per item, channel and district,
    # about 985 fields, so about half that bound; the year's Redis went from 138 to 132 MB.)
    # A tickets-only series would be ~20x smaller but needs a second write path in the store.
    Resolution("1h", 3600, 29 * 86400, WATCH_DIMENSIONS, WATCH_METRICS),
    Resolution("1d", 86400, 32 * 86400),
)
# Daily buckets start at Shanghai midnight, so "a day" is the hotline's day.
DAY_OFFSET = 8 * 3600

WINDOWS = {"1h": (3600, "5m"), "24h": (86400, "1h"), "7d": (7 * 86400, "1h"), "30d": (30 * 86400, "1d")}
WINDOW_NAMES = ("1h", "24h", "7d", "30d", "all")
MAX_RETENTION = max(r.retention for r in RESOLUTIONS)
_BY_NAME = {r.name: r for r in RESOLUTIONS}


def bucket_start(ts: int, res: Resolution) -> int:
    if res.seconds == 86400:
        return ts - (ts + DAY_OFFSET) % 86400
    return ts - ts % res.seconds


def buckets_for(ts: int, watermark: int) -> list[tuple[Resolution, int]]:
    """The buckets an increment at `ts` lands in, given the watermark (older ones are past retention)."""
    return [(r, bucket_start(ts, r)) for r in RESOLUTIONS if ts >= watermark - r.retention]


def is_late(ts: int, watermark: int) -> bool:
    return ts < watermark - MAX_RETENTION


def window_buckets(window: str, end: int) -> tuple[Resolution, list[int]]:
    """Bucket starts whose sum is the window ending at `end`."""
    span, res_name = WINDOWS[window]
    res = _BY_NAME[res_name]
    last = bucket_start(end, res)
    n = span // res.seconds
    return res, [last - i * res.seconds for i in range(n)]


def window_resolution(window: str) -> Resolution | None:
    """The resolution a window is read from (None for "all": the all-time totals, every field)."""
    return _BY_NAME[WINDOWS[window][1]] if window in WINDOWS else None


def parse_window(text: str) -> str:
    if text not in WINDOW_NAMES:
        raise ValueError(f"window must be one of {', '.join(WINDOW_NAMES)}, got {text!r}")
    return text


# The window clock follows the bulk of a partition, not its newest record: one record dated hours or
# years ahead (a typo, a test message, a platform clock gone wrong) must not prune every bucket and
# make all later events late. A partition's watermark is the newest of its last RECENT event times
# that QUORUM of them support: at least QUORUM records (itself included) within TOLERANCE before it,
# evaluated after every record and never going back. In order, that is the newest record; a lone
# outlier is never the watermark, and no single record moves it more than TOLERANCE past what the
# others say. Quorum 3 within an hour was tried first:
# on a sparse stream (3,000 tickets a year, a few records a day per partition) the clock then lagged
# by days and the 1h and 24h windows stayed empty.
RECENT = 9
QUORUM = 2
TOLERANCE = 86400


class PartitionClock:
    """A partition's watermark, moved record by record (not once a batch): whatever the batches,
    the clock after a record is the same, so what it decides (orphaned follow-ups, late events)
    does not depend on where a worker, the report or a rebuild cut the stream."""

    __slots__ = ("recent", "watermark")

    def __init__(self, recent: list[int] | None = None, watermark: int = 0):
        self.recent = list(recent or [])[-RECENT:]
        self.watermark = watermark

    def push(self, t: int) -> None:
        r = self.recent
        r.append(t)
        if len(r) > RECENT:
            del r[0]
        best = self.watermark
        if t <= best - TOLERANCE:
            return  # it supports no time past the clock, and is none itself
        if t >= max(r):
            # The newest time (the common case, in order): it can only support itself, so the
            # clock moves to it when QUORUM of the recent times lie within TOLERANCE before it.
            if t > best:
                lo = t - TOLERANCE
                if (QUORUM == 2 and len(r) > 1 and r[-2] >= lo) or sum(o >= lo for o in r) >= QUORUM:
                    self.watermark = t
            return
        for c in r:  # only a time past the clock can move it: the newest that QUORUM support
            if c > best and sum(1 for o in r if c - TOLERANCE <= o <= c) >= QUORUM:
                best = c
        self.watermark = best


def advance_watermark(recent: list[int], times: list[int], watermark: int) -> tuple[list[int], int]:
    """A partition's recent event times and watermark after these `times` (in offset order)."""
    clock = PartitionClock(recent, watermark)
    for t in times:
        clock.push(t)
    return clock.recent, clock.watermark

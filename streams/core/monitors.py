"""The monitors a hotline runs on, as pure figures of the counters: overdue tickets (逾期工单),
the on-time reply rate (按时答复率), rising items and districts (热点预警), bad ratings to call back
(差评回访).

What counting adds for them (streams/core/counting.py), each fact once per ticket:

    due_<N>d         at received_at: a ticket whose deadline is N days (its item's, or the default)
    closed_<N>d      at received_at: the same ticket replied or withdrawn, whichever came first
    replied_on_time  at replied_at, with the reply: replied by the end of its deadline day
    callback         at evaluated_at, with the evaluation: a score of 1 or 2 (a call-back is due)

A ticket received on Shanghai day D with a deadline of N days is due by the end of day D + N and is
*overdue* from day D + N + 1 while neither replied nor withdrawn. Because closing is counted in the
bucket the ticket was *received* in, the overdue tickets at T are, for each deadline class N,

    open_N(all time) - sum of open_N over the daily buckets from day(T) - N onwards

(open = due - closed), which needs at most 31 daily buckets (kept 32 days) and never depends on
the order replies and withdrawals arrived in. The class is in the metric's name, so a district's
tickets of items with different deadlines are counted exactly, and a deadline changed later
applies to tickets counted from then on (the old ones keep theirs).

Rising items: the tickets of an item (a district) in the last RISING_HOURS clock hours against the
same hours of each of the previous RISING_WEEKS weeks (a Monday morning against Monday mornings):

    score = (observed - mean) / sqrt(variance + mean + 1)

as streams/core/spikes.py scores repeat spikes (the `+ mean + 1` keeps a quiet item's three
tickets from scoring like a flood). Weeks before the first counted hour are not used; with no such
week there is no score. The hourly buckets are kept 29 days for this (streams/core/windows.py).
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Iterable, Mapping

from streams.core.windows import RESOLUTIONS, bucket_start

DEFAULT_DEADLINE_DAYS = 15
# Overdue reads the daily buckets of the last deadline + 1 days; they are kept 32 days.
MAX_DEADLINE_DAYS = 30
ON_TIME = "replied_on_time"
CALLBACK = "callback"
BAD_RATINGS = frozenset({1, 2})
SCOPES = ("item", "district")
RISING_HOURS = 3
RISING_WEEKS = 4
WEEK_S = 7 * 86400
_DAY = next(r for r in RESOLUTIONS if r.name == "1d")
_HOUR = next(r for r in RESOLUTIONS if r.name == "1h")
_CLASS = re.compile(r"(due|closed)_(\d+)d")


def due_metric(days: int) -> str:
    return f"due_{days}d"


def closed_metric(days: int) -> str:
    return f"closed_{days}d"


def local_day(ts: int) -> int:
    """The Shanghai calendar day of a time, as a day number."""
    return (ts + 8 * 3600) // 86400


def replied_on_time(received_at: int, replied_at: int, days: int) -> bool:
    return local_day(replied_at) <= local_day(received_at) + days


@dataclass(frozen=True)
class Deadlines:
    """The reply deadline of a ticket, in days: its item's, else the default."""
    default: int = DEFAULT_DEADLINE_DAYS
    by_item: tuple[tuple[str, int], ...] = ()

    def __post_init__(self):
        for name, days in (("default", self.default), *self.by_item):
            if not 1 <= days <= MAX_DEADLINE_DAYS:
                raise ValueError(f"the reply deadline of {name} must be 1..{MAX_DEADLINE_DAYS} days "
                                 f"(overdue reads the daily buckets, kept 32 days), got {days}")

    def days(self, item: str) -> int:
        for name, days in self.by_item:
            if name == item:
                return days
        return self.default

    @classmethod
    def parse(cls, default: int, by_item: str) -> "Deadlines":
        """`by_item`: "城市管理=10,交通管理=7" (empty: every item has the default)."""
        pairs = []
        for part in (p.strip() for p in by_item.split(",")):
            if not part:
                continue
            name, sep, days = part.rpartition("=")
            if not sep or not name.strip():
                raise ValueError(f"HOTLINE_DEADLINE_DAYS_BY_ITEM wants item=days pairs, got {part!r}")
            try:
                pairs.append((name.strip(), int(days)))
            except ValueError:
                raise ValueError(f"HOTLINE_DEADLINE_DAYS_BY_ITEM: {part!r} has no whole number of days") from None
        return cls(default, tuple(pairs))


# ---- overdue -------------------------------------------------------------------------------------
def _open_by_class(fields: Mapping[str, int]) -> dict[tuple[str, str], dict[int, int]]:
    """(dim, value) -> {deadline days: due - closed} for the overall, item and district fields."""
    out: dict[tuple[str, str], dict[int, int]] = {}
    for key, value in fields.items():
        dim, name, metric = key.split("|", 2)
        if dim != "all" and dim not in SCOPES:
            continue
        m = _CLASS.fullmatch(metric)
        if not m:
            continue
        per = out.setdefault((dim, name), {})
        days = int(m.group(2))
        per[days] = per.get(days, 0) + (int(value) if m.group(1) == "due" else -int(value))
    return out


def daily_starts_needed(as_of: int, fields: Mapping[str, int]) -> int:
    """The first daily bucket start overdue at `as_of` reads (the longest deadline found decides)."""
    longest = max((int(m.group(2)) for k in fields if (m := _CLASS.fullmatch(k.rsplit("|", 1)[-1]))), default=0)
    return bucket_start(as_of, _DAY) - longest * 86400


def overdue(all_time: Mapping[str, int], daily: Mapping[int, Mapping[str, int]], as_of: int) -> dict:
    """Open and overdue tickets at `as_of`, overall and by item and district.

    `daily`: daily bucket start -> counter fields, holding at least every bucket from
    `daily_starts_needed(as_of, all_time)` on (later ones included)."""
    today = bucket_start(as_of, _DAY)
    total = _open_by_class(all_time)
    recent: dict[tuple[str, str], dict[int, int]] = {}
    for start, fields in daily.items():
        for scope, per in _open_by_class(fields).items():
            acc = recent.setdefault(scope, {})
            for days, n in per.items():
                if start >= today - days * 86400:  # received on day(T) - N or later: not overdue yet
                    acc[days] = acc.get(days, 0) + n
    figures: dict[tuple[str, str], tuple[int, int]] = {}
    for scope, per in total.items():
        late = recent.get(scope, {})
        figures[scope] = (sum(per.values()), sum(n - late.get(days, 0) for days, n in per.items()))
    out = {"as_of": as_of, "open": figures.get(("all", ""), (0, 0))[0],
           "overdue": figures.get(("all", ""), (0, 0))[1]}
    for dim in SCOPES:
        rows = {name: {"open": o, "overdue": d} for (d_, name), (o, d) in figures.items() if d_ == dim}
        out[f"by_{dim}"] = dict(sorted(rows.items(), key=lambda kv: (-kv[1]["overdue"], -kv[1]["open"], kv[0])))
    return out


# ---- rising items ---------------------------------------------------------------------------------
def rising_hours(as_of: int, hours: int = RISING_HOURS, weeks: int = RISING_WEEKS) -> tuple[list[int], list[list[int]]]:
    """The hourly bucket starts of the last `hours` hours at `as_of`, and of the same hours of each
    previous week (newest week first)."""
    last = bucket_start(as_of, _HOUR)
    current = [last - i * 3600 for i in range(hours)]
    return current, [[s - k * WEEK_S for s in current] for k in range(1, weeks + 1)]


def _tickets(fields: Mapping[str, int]) -> dict[tuple[str, str], int]:
    out: dict[tuple[str, str], int] = {}
    for key, value in fields.items():
        dim, name, metric = key.split("|", 2)
        if metric == "tickets" and dim in SCOPES:
            out[(dim, name)] = out.get((dim, name), 0) + int(value)
    return out


def rising_score(observed: int, history: list[int]) -> tuple[float, float]:
    """(expected, score) of an observed count against the same hours of previous weeks."""
    mean = sum(history) / len(history)
    var = sum((x - mean) ** 2 for x in history) / len(history)
    return mean, (observed - mean) / math.sqrt(var + mean + 1.0)


def rising(hourly: Mapping[int, Mapping[str, int]], as_of: int, first_hour: int | None,
           scopes: Mapping[str, Iterable[str]] | None = None) -> dict:
    """Each item's and district's score at `as_of`. `hourly`: hourly bucket start -> fields (at
    least the buckets `rising_hours` names); `first_hour`: the oldest hourly bucket with data;
    `scopes`: the values to score even when absent (the taxonomy, for the exporter), else the ones seen."""
    current, previous = rising_hours(as_of)
    weeks = [w for w in previous if first_hour is not None and w[-1] >= first_hour]
    sum_of = lambda starts: _sum_tickets(hourly, starts)
    observed = sum_of(current)
    history = [sum_of(w) for w in weeks]
    out: dict = {"as_of_hour": current[0], "hours": len(current), "weeks": len(weeks)}
    for dim in SCOPES:
        names = set(scopes[dim]) if scopes else {n for d, n in observed if d == dim} | {
            n for h in history for d, n in h if d == dim}
        rows = {}
        for name in names:
            obs = observed.get((dim, name), 0)
            if not weeks:
                rows[name] = {"observed": obs, "expected": None, "score": None}
                continue
            expected, score = rising_score(obs, [h.get((dim, name), 0) for h in history])
            rows[name] = {"observed": obs, "expected": round(expected, 6), "score": round(score, 6)}
        out[f"by_{dim}"] = dict(sorted(rows.items(), key=lambda kv: (-(kv[1]["score"] or 0), -kv[1]["observed"], kv[0])))
    return out


def _sum_tickets(hourly: Mapping[int, Mapping[str, int]], starts: list[int]) -> dict[tuple[str, str], int]:
    total: dict[tuple[str, str], int] = {}
    for s in starts:
        for scope, n in _tickets(hourly.get(s, {})).items():
            total[scope] = total.get(scope, 0) + n
    return total


# ---- the batch side: the buckets the live store keeps, for the fields the monitors read ----------
@dataclass
class MonitorSeries:
    """Daily due/closed and hourly ticket fields, bucketed as the store buckets them, kept by
    `hotline report` (streams/core/testing.MemoryPipeline) so its monitors read what Redis holds."""
    daily: dict[int, dict[str, int]]
    hourly: dict[int, dict[str, int]]
    newest: int | None = None  # the newest increment's time: where the report's monitors stand
    first_hour: int | None = None

    @classmethod
    def empty(cls) -> "MonitorSeries":
        return cls({}, {})

    def add(self, at: int, dims: Iterable[tuple[str, str]], metrics: Mapping[str, int]) -> None:
        self.newest = at if self.newest is None else max(self.newest, at)
        hour = bucket_start(at, _HOUR)
        self.first_hour = hour if self.first_hour is None else min(self.first_hour, hour)
        classes = {m: v for m, v in metrics.items() if _CLASS.fullmatch(m)}
        tickets = metrics.get("tickets", 0)
        if not classes and not tickets:
            return
        day = self.daily.setdefault(bucket_start(at, _DAY), {})
        hourly = self.hourly.setdefault(hour, {}) if tickets else None
        for dim, value in dims:
            if dim != "all" and dim not in SCOPES:
                continue
            for m, v in classes.items():
                key = f"{dim}|{value}|{m}"
                day[key] = day.get(key, 0) + v
            if hourly is not None:
                key = f"{dim}|{value}|tickets"
                hourly[key] = hourly.get(key, 0) + tickets

    def report(self, all_time: Mapping[str, int]) -> dict | None:
        if self.newest is None:
            return None
        return monitors(all_time, self.daily, self.hourly, bucket_start(self.newest, _HOUR), self.first_hour)


def monitors(all_time: Mapping[str, int], daily: Mapping[int, Mapping[str, int]],
             hourly: Mapping[int, Mapping[str, int]], as_of: int, first_hour: int | None,
             scopes: Mapping[str, Iterable[str]] | None = None) -> dict:
    """The report's `monitors` section: overdue and rising, at `as_of`."""
    return {"overdue": overdue(all_time, daily, as_of), "rising": rising(hourly, as_of, first_hour, scopes)}


def callback_record(ticket_id: str, state, score: int, evaluated_at: int, title: str | None,
                    content: str | None, reply: str | None) -> dict:
    """A bad rating to call back (差评回访). Texts are the masked ones of the event that counted
    the evaluation (a snapshot or a creation carries them; a lone `evaluated` event usually does
    not: then they are null and the ticket's text is on the enriched topic, same key)."""
    return {"ticket_id": ticket_id, "satisfaction": score, "evaluated_at": evaluated_at,
            "received_at": state.received_at, "district": state.district, "item": state.item,
            "subcategory": state.sub, "channel": state.channel, "reply_type": state.reply_type or None,
            "title": title, "content": content, "reply": reply}

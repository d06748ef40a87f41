"""`hotline snapshot`: the live counterpart of `hotline report`, read from Redis."""
from __future__ import annotations

from typing import Iterable, Mapping

from streams.adapters.store import CounterStore
from streams.core.monitors import daily_starts_needed, monitors, rising_hours
from streams.core.summary import summarize
from streams.core.windows import parse_window


def read_monitors(store: CounterStore, as_of: int | None = None, all_time: Mapping[str, int] | None = None,
                  scopes: Mapping[str, Iterable[str]] | None = None) -> dict | None:
    """Overdue and rising at `as_of` from the buckets, or at the newest counted hour (what `hotline
    report` uses, so the two compare); None when nothing was counted."""
    hours = store.bucket_span("1h")
    if hours is None:
        return None
    as_of = hours[1] if as_of is None else as_of
    all_time = store.all_time() if all_time is None else all_time
    daily = store.buckets("1d", since=daily_starts_needed(as_of, all_time))
    current, previous = rising_hours(as_of)
    hourly = store.buckets("1h", starts=current + [s for week in previous for s in week])
    return monitors(all_time, daily, hourly, as_of, hours[0], scopes)


def take_snapshot(store: CounterStore, window: str = "all", clock: str = "auto") -> dict:
    window = parse_window(window)
    end = store.window_end(clock)
    all_time = store.all_time()
    fields = all_time if window == "all" else store.window(window, end)
    return summarize(fields, store.pipeline_counters(), source=f"redis:{store.ns}", window=window,
                     window_end=None if window == "all" else end,
                     monitors=read_monitors(store, None if window == "all" else end, all_time))

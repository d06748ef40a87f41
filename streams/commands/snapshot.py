"""`hotline snapshot`: the live counterpart of `hotline report`, read from Redis."""
from __future__ import annotations

from streams.adapters.store import CounterStore
from streams.core.summary import summarize
from streams.core.windows import parse_window


def take_snapshot(store: CounterStore, window: str = "all", clock: str = "auto") -> dict:
    window = parse_window(window)
    end = store.window_end(clock)
    fields = store.window(window, end)
    return summarize(fields, store.pipeline_counters(), source=f"redis:{store.ns}", window=window,
                     window_end=None if window == "all" else end)

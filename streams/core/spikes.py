"""Repeat-complaint spikes: the last hour of repeat signals per item and per district against a
trailing hourly baseline.

The signal of a scope is its repeat complaints (the largest of the platform-flagged, same-caller
and same-text counts, see `repeat_signal`) in the hour ending at the window clock. The baseline is an exponentially weighted mean and
variance of the same scope's hourly counts over the previous 7 days (older hours weigh less), so
a district that always has a few repeats does not page, and a quiet week stays quiet: an alert
needs at least `min_count` repeats *and* a score of `threshold` or more, where

    score = (observed - expected) / sqrt(variance + expected + 1)

(the `+ expected + 1` keeps sparse scopes, whose variance is near 0, from alerting on noise).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Mapping, Sequence

REPEAT_METRICS = ("repeat", "repeat_caller", "repeat_text")
SCOPES = ("item", "district")


@dataclass(frozen=True)
class SpikeRules:
    min_count: int = 5
    threshold: float = 4.0
    alpha: float = 0.05  # EWMA weight of each newer hour
    baseline_hours: int = 7 * 24


@dataclass
class Spike:
    scope_type: str
    scope: str
    window: str
    window_end: int
    observed: int
    expected: float
    score: float
    example_ticket_ids: list[str] = field(default_factory=list)

    def as_event(self) -> dict:
        return {"type": "repeat_spike", "scope_type": self.scope_type, "scope": self.scope, "window": self.window,
                "window_end": self.window_end, "observed": self.observed, "expected": round(self.expected, 3),
                "score": round(self.score, 3), "example_ticket_ids": self.example_ticket_ids}


def ewma(series: Sequence[float], alpha: float) -> tuple[float, float]:
    """Exponentially weighted mean and variance, oldest value first."""
    mean = var = 0.0
    started = False
    for x in series:
        if not started:
            mean, started = float(x), True
            continue
        diff = x - mean
        incr = alpha * diff
        mean += incr
        var = (1 - alpha) * (var + diff * incr)
    return mean, var


def score(observed: int, history: Sequence[int], rules: SpikeRules) -> tuple[float, float]:
    expected, var = ewma(history, rules.alpha) if history else (0.0, 0.0)
    return expected, (observed - expected) / math.sqrt(var + expected + 1.0)


def repeat_signal(fields: Mapping[str, int]) -> dict[tuple[str, str], int]:
    """Repeat complaints of a bucket (or window) per (scope type, scope).

    A ticket may match several rules, and the counters are per rule, so the signal is the largest
    rule count: never a ticket counted twice, and equal to the platform count when only the
    platform flags repeats (what the Prometheus rules see in `hotline_window_*_repeat_tickets`).
    """
    out: dict[tuple[str, str], int] = {}
    for key, value in fields.items():
        dim, name, metric = key.split("|", 2)
        if dim in SCOPES and metric in REPEAT_METRICS:
            out[(dim, name)] = max(out.get((dim, name), 0), int(value))
    return out


def detect(current: Mapping[tuple[str, str], int], hourly: Sequence[Mapping[tuple[str, str], int]],
           rules: SpikeRules, window_end: int) -> list[Spike]:
    """`current`: the last hour's signal per scope; `hourly`: the baseline hours, oldest first."""
    spikes = []
    for (scope_type, scope), observed in sorted(current.items()):
        if observed < rules.min_count:
            continue
        history = [h.get((scope_type, scope), 0) for h in hourly]
        expected, s = score(observed, history, rules)
        if s >= rules.threshold:
            spikes.append(Spike(scope_type, scope, "1h", window_end, observed, expected, s))
    return spikes

"""The stream's spike monitor: runs inside each worker, evaluates the window ending at the
watermark, emits alert events once per scope and hour, whichever worker gets there first."""
from __future__ import annotations

import logging

from streams.core.spikes import SpikeRules, detect, repeat_signal
from streams.adapters.store import CounterStore
from streams.core.windows import RESOLUTIONS, bucket_start

log = logging.getLogger("hotline.spikes")
_HOUR = next(r for r in RESOLUTIONS if r.name == "1h")


class SpikeMonitor:
    def __init__(self, store: CounterStore, rules: SpikeRules = SpikeRules()):
        self.store = store
        self.rules = rules
        self.last_end = None

    def evaluate(self) -> list[dict]:
        """Evaluate once; return the alert events this call claimed (to be sent to the alerts topic)."""
        store = self.store
        wm = int(store.meta().get("watermark") or 0)
        if not wm or wm == self.last_end:
            return []
        self.last_end = wm
        current = repeat_signal(store.window("1h", wm))
        if not any(v >= self.rules.min_count for v in current.values()):
            return []
        # Baseline: the hours before the current one, oldest first.
        this_hour = bucket_start(wm, _HOUR)
        starts = [this_hour - 3600 * i for i in range(self.rules.baseline_hours, 0, -1)]
        found = store.buckets("1h", starts=starts)
        hours = [repeat_signal(found.get(s, {})) for s in starts]
        events = []
        for spike in detect(current, hours, self.rules, wm):
            # One alert per scope and hour, across all workers: the first to claim it sends it.
            claim = store.k(f"alerted:{spike.scope_type}:{spike.scope}:{this_hour}")
            if not store.r.set(claim, 1, nx=True, ex=3 * 86400):
                continue
            spike.example_ticket_ids = store.repeat_examples(f"{spike.scope_type}:{spike.scope}")
            with store.r.pipeline(transaction=False) as p:  # the claim above makes this once
                p.hincrby(store.k("alerts"), spike.scope_type, 1)
                p.hset(store.k("alerts:score"), f"{spike.scope_type}|{spike.scope}", round(spike.score, 3))
                p.expire(store.k("alerts:score"), 7200)
                p.execute()
            log.warning("repeat-complaint spike: %s %s observed %d expected %.1f score %.1f",
                        spike.scope_type, spike.scope, spike.observed, spike.expected, spike.score)
            events.append(spike.as_event())
        return events

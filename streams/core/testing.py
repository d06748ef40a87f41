"""Run the pipeline without a broker or Redis, as Bytewax's testing module does for dataflows.

`MemoryPipeline` keeps ticket states, repeat groups and counters in dicts and feeds records
through the same Processor the worker uses, in any batch size and order you choose; `report()`
gives the same JSON as `hotline report` / `hotline snapshot`. `hotline report` is this pipeline
over a file.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable, Sequence

from streams.core.counting import FieldTotals, TicketState, add_into
from streams.core.monitors import MonitorSeries
from streams.core.pipeline import BatchResult, Processor
from streams.core.summary import summarize
from streams.core.windows import PartitionClock


@dataclass
class FixedPrediction:
    label: str
    confidence: float = 0.0
    low_confidence: bool = True


class FixedPredictor:
    """Predicts one label for every text: for tests of what happens around classification."""

    def __init__(self, label: str = "其他"):
        self.label = label

    def predict(self, texts: Sequence[str]):
        return [FixedPrediction(self.label) for _ in texts]


@dataclass
class MemoryPipeline:
    processor: Processor
    keep_outputs: bool = True  # False: count only (a year's report need not hold every enriched record)
    states: dict[str, TicketState] = field(default_factory=dict)
    groups: dict = field(default_factory=dict)
    fields: dict[str, int] = field(default_factory=dict)
    pipeline: dict[str, int] = field(default_factory=dict)
    dead_letters: list = field(default_factory=list)
    enriched: list = field(default_factory=list)
    callbacks: list = field(default_factory=list)
    series: MonitorSeries = field(default_factory=MonitorSeries.empty)  # what the monitors read of the buckets
    waiting: dict[str, int] = field(default_factory=dict)  # ticket id -> earliest parked follow-up time
    recent: list[int] = field(default_factory=list)
    watermark: int = 0

    def feed(self, records: Iterable[bytes], batch_size: int = 500) -> "MemoryPipeline":
        batch: list[bytes] = []
        for rec in records:
            batch.append(rec)
            if len(batch) >= batch_size:
                self.feed_batch(batch)
                batch = []
        if batch:
            self.feed_batch(batch)
        return self

    def feed_batch(self, batch: list[bytes]) -> BatchResult:
        """Process one batch; the BatchResult is returned for callers that look further (the study)."""
        prepared = self.processor.prepare(batch)
        clock = PartitionClock(self.recent, self.watermark)
        bound = self.processor.orphan_bound(clock, prepared)
        expired = [t for t, at in self.waiting.items() if bound is not None and at < bound]
        result = self.processor.process(prepared, self.states, groups=self.groups, clock=clock, waiting=expired)
        self.states.update(result.states)
        for tid, state in result.states.items():
            if state.parked:
                self.waiting[tid] = min(p.at for p in state.parked)
            else:
                self.waiting.pop(tid, None)
        self.groups.update(result.groups)
        totals = FieldTotals()  # summed per (dimension, value) first: a field string per sum, not per increment
        for inc in result.increments:
            totals.add(inc.dims, inc.metrics)
            self.series.add(inc.at, inc.dims, inc.metrics)
        flat = totals.flat()
        add_into(self.fields, dict(zip(flat[::2], flat[1::2])))
        add_into(self.pipeline, result.pipeline)
        self.recent, self.watermark = clock.recent, clock.watermark
        if self.keep_outputs:
            self.dead_letters += result.dead_letters
            self.enriched += result.enriched
            self.callbacks += result.callbacks
        return result

    def report(self, source: str = "memory") -> dict:
        return summarize(self.fields, self.pipeline, source=source, monitors=self.series.report(self.fields))

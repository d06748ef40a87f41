"""The processing core both the batch report and the worker run: bytes in, counts and records out.

`Processor.process()` takes a batch of raw records and the states of the tickets they touch, and
returns everything the outside world needs: increments per time, the new ticket states, pipeline
counters, enriched records and dead-letter records. It does no I/O, so the report (states in a dict)
and the worker (states in Redis) get identical answers for identical input.
"""
from __future__ import annotations

import base64
from dataclasses import dataclass, field
from typing import Callable, Mapping, Sequence

from schemas.taxonomy import Taxonomy, load_taxonomy
from streams.cleaning import CleanEvent, Rejection, clean
from streams.counting import Increment, TicketState, count_event
from streams.enrich import EnrichedEvent, ItemPredictor, enrich_batch


@dataclass(frozen=True, slots=True)
class Source:
    """Where a record came from: a file line or a Kafka message."""
    topic: str
    partition: int
    offset: int


@dataclass(slots=True)
class BatchResult:
    increments: list[Increment] = field(default_factory=list)
    states: dict[str, TicketState] = field(default_factory=dict)  # changed states only
    pipeline: dict[str, int] = field(default_factory=dict)  # events|<outcome>, dlq|<reason>, records
    enriched: list[tuple[str, dict]] = field(default_factory=list)  # (key, record) for the enriched topic
    dead_letters: list[tuple[str | None, dict]] = field(default_factory=list)
    max_event_time: int = 0

    def bump(self, name: str, n: int = 1) -> None:
        self.pipeline[name] = self.pipeline.get(name, 0) + n


def dead_letter(raw: bytes, rejection: Rejection, source: Source | None) -> dict:
    return {
        "reason": rejection.reason,
        "message": rejection.message,
        "ticket_id": rejection.ticket_id,
        "original_b64": base64.b64encode(raw).decode("ascii"),
        "source_topic": source.topic if source else None,
        "source_partition": source.partition if source else None,
        "source_offset": source.offset if source else None,
    }


def enriched_record(ev: EnrichedEvent, state: TicketState) -> dict:
    c = ev.clean
    return {
        "ticket_id": c.ticket_id, "event": c.event, "event_time": c.event_time,
        "received_at": state.received_at, "channel": state.channel, "category": state.item,
        "category_source": ev.item_source, "category_confidence": ev.item_confidence,
        "low_confidence": ev.low_confidence, "subcategory": state.sub, "district": state.district,
        "department": c.department, "rights_claim": state.rights, "reply_type": state.reply_type or None,
        "off_hours": ev.off_hours, "repeat": bool(c.repeat_of), "repeat_of": c.repeat_of,
        "caller_hash": c.caller_hash, "title": c.title, "content": c.content, "reply": c.reply,
        "replied_at": c.replied_at, "satisfaction": c.satisfaction, "evaluated_at": c.evaluated_at,
        "withdrawn": c.withdrawn,
    }


class Processor:
    def __init__(self, caller_key: str, predictor: ItemPredictor, taxonomy: Taxonomy | None = None,
                 rights: Callable | None = None, emit_records: bool = True):
        self.caller_key = caller_key
        self.predictor = predictor
        self.taxonomy = taxonomy or load_taxonomy()
        self.rights = rights
        self.emit_records = emit_records

    def clean_all(self, raws: Sequence[bytes]) -> list[CleanEvent | Rejection]:
        return [clean(raw, self.caller_key) for raw in raws]

    def process(self, raws: Sequence[bytes], states: Mapping[str, TicketState | None],
                sources: Sequence[Source | None] | None = None,
                cleaned: Sequence[CleanEvent | Rejection] | None = None) -> BatchResult:
        """`states` must hold every ticket id of the batch's valid events (None when unknown)."""
        result = BatchResult()
        cleaned = self.clean_all(raws) if cleaned is None else cleaned
        valid = [c for c in cleaned if isinstance(c, CleanEvent)]
        enriched = iter(enrich_batch(valid, self.taxonomy, self.predictor, self.rights))
        overlay: dict[str, TicketState | None] = {}
        for i, item in enumerate(cleaned):
            source = sources[i] if sources else None
            result.bump("records")
            if isinstance(item, Rejection):
                self._reject(result, raws[i], item, "rejected", source)
                continue
            ev = next(enriched)
            tid = item.ticket_id
            state = overlay[tid] if tid in overlay else states.get(tid)
            out = count_event(ev, state)
            if out.outcome != "counted":
                self._reject(result, raws[i], out.rejection, out.outcome, source)
                continue
            result.bump("events|counted")
            overlay[tid] = out.state
            result.states[tid] = out.state
            result.increments.extend(out.increments)
            if item.event_time > result.max_event_time:
                result.max_event_time = item.event_time
            if self.emit_records:
                result.enriched.append((tid, enriched_record(ev, out.state)))
        return result

    def _reject(self, result: BatchResult, raw: bytes, rejection: Rejection, outcome: str,
                source: Source | None) -> None:
        result.bump(f"events|{outcome}")
        result.bump(f"dlq|{rejection.reason}")
        if self.emit_records:
            result.dead_letters.append((rejection.ticket_id, dead_letter(raw, rejection, source)))


def ticket_ids(cleaned: Sequence[CleanEvent | Rejection]) -> list[str]:
    seen: dict[str, None] = {}
    for c in cleaned:
        if isinstance(c, CleanEvent):
            seen.setdefault(c.ticket_id, None)
    return list(seen)

"""Classification: a clean event -> an enriched event (item, rights claim, reply type, off-hours).

Pure apart from the classifier it is handed, which is itself a pure function of the text. Items the
platform gave are kept; missing or unknown ones are predicted and marked as predicted.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, Sequence

from schemas.taxonomy import Taxonomy, UNKNOWN
from streams.core.cleaning import CleanEvent
from streams.text.reply_type import classify_replies
from streams.text.segment import normalize_all

WORK_START_S = 9 * 3600
WORK_END_S = 18 * 3600
SHANGHAI_OFFSET_S = 8 * 3600


def is_off_hours(ts: int) -> bool:
    """Received 18:00:00–08:59:59 Shanghai time (the study's 18:00–09:00)."""
    second_of_day = (ts + SHANGHAI_OFFSET_S) % 86400
    return second_of_day < WORK_START_S or second_of_day >= WORK_END_S


class ItemPrediction(Protocol):
    label: str
    confidence: float
    low_confidence: bool


class ItemPredictor(Protocol):
    def predict(self, texts: Sequence[str]) -> Sequence[ItemPrediction]: ...


@dataclass(slots=True)
class EnrichedEvent:
    clean: CleanEvent
    item: str | None = None  # None on follow-up events: the ticket's state knows it
    item_source: str | None = None  # given | predicted
    item_confidence: float | None = None
    low_confidence: bool = False
    subcategory: str | None = None
    channel: str | None = None
    district: str | None = None
    rights_claim: str | None = None
    reply_type: str | None = None
    off_hours: bool | None = None
    group_keys: list = None  # (rule, key) of the repeat groups a new ticket joins

    @property
    def ticket_id(self) -> str:
        return self.clean.ticket_id

    @property
    def event(self) -> str:
        return self.clean.event


def _text(ev: CleanEvent) -> str:
    return f"{ev.title or ''} {ev.content or ''}".strip()


def enrich_batch(events: Sequence[CleanEvent], taxonomy: Taxonomy, predictor: ItemPredictor,
                 rights=None) -> list[EnrichedEvent]:
    """Enrich a batch; the predictor sees all texts at once (vectorised models are much faster so)."""
    need = [i for i, ev in enumerate(events)
            if ev.event in ("created", "snapshot") and taxonomy.item(ev.category) is None]
    # (title, content) pairs, normalised here once: models weigh the title apart from the content, and
    # the rights cues read both again (normalising a normalised text is a cheap check; NFKC of a real
    # complaint is not: ~8 us of its ~50 us of cleaning and classifying).
    flat = normalize_all([t for i in need for t in (events[i].title, events[i].content)])
    folded = {i: (flat[2 * k], flat[2 * k + 1]) for k, i in enumerate(need)}
    predictions = dict(zip(need, predictor.predict([folded[i] for i in need]))) if need else {}
    # Replies in one call: the learned reply model takes 2,140 replies/s in batches, 1,600 one by one.
    with_reply = [i for i, ev in enumerate(events) if ev.reply and ev.event in ("replied", "created", "snapshot")]
    reply_types = dict(zip(with_reply, (t for t, _ in classify_replies([events[i].reply for i in with_reply])))) \
        if with_reply else {}
    out = []
    for i, ev in enumerate(events):
        if ev.event not in ("created", "snapshot"):
            out.append(EnrichedEvent(clean=ev, reply_type=reply_types.get(i, "neither") if ev.event == "replied" else None))
            continue
        given = taxonomy.item(ev.category)
        if given is not None:
            item, source, conf, low = given, "given", 1.0, False
        else:
            p = predictions[i]
            item = p.label if p.label in taxonomy.subcategories else taxonomy.fallback_item
            source, conf, low = "predicted", float(p.confidence), bool(p.low_confidence)
        sub = taxonomy.subcategory(item, ev.subcategory) if given is not None else UNKNOWN
        claim = (rights(item, sub, " ".join(t for t in folded[i] if t) if i in folded else _text(ev)) if rights
                 else taxonomy.rights_claim(item, sub))
        out.append(EnrichedEvent(
            clean=ev, item=item, item_source=source, item_confidence=round(conf, 4), low_confidence=low,
            subcategory=sub, channel=taxonomy.channel(ev.channel), district=taxonomy.district(ev.district),
            rights_claim=claim,
            reply_type=reply_types.get(i) if ev.reply else None,
            off_hours=is_off_hours(ev.received_at),
        ))
    return out

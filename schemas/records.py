"""Faust records of the ticket contract.

`TicketEvent` mirrors schemas/ticket_event.schema.json field for field (tests/test_contract.py
proves it); `EnrichedTicket` and `DeadLetter` are what the worker writes to the enriched and
dead-letter topics. Times on the enriched topic are Unix seconds, already validated.
"""
from __future__ import annotations

from typing import Optional

import faust


class TicketEvent(faust.Record, serializer="json"):
    """A raw ticket event as producers write it (validated by the cleaning step, not by Faust)."""
    ticket_id: str
    event: str
    event_time: str
    received_at: Optional[str] = None
    channel: Optional[str] = None
    category: Optional[str] = None
    subcategory: Optional[str] = None
    district: Optional[str] = None
    department: Optional[str] = None
    caller: Optional[str] = None
    title: Optional[str] = None
    content: Optional[str] = None
    reply: Optional[str] = None
    replied_at: Optional[str] = None
    satisfaction: Optional[int] = None
    evaluated_at: Optional[str] = None
    withdrawn: Optional[bool] = None
    repeat_of: Optional[str] = None


class EnrichedTicket(faust.Record, serializer="json"):
    """A counted ticket event with what classification added; no personal data in clear."""
    ticket_id: str
    event: str
    event_time: int
    received_at: int
    channel: str
    category: str
    category_source: Optional[str]  # given | predicted (None on follow-up events)
    category_confidence: Optional[float]
    low_confidence: bool
    subcategory: str
    district: str
    department: Optional[str]
    rights_claim: str
    reply_type: Optional[str]
    off_hours: Optional[bool]
    repeat: bool
    repeat_of: Optional[str]
    caller_hash: Optional[str]  # HMAC-SHA256 of the number, keyed by HOTLINE_CALLER_HASH_KEY
    title: Optional[str]  # personal numbers masked
    content: Optional[str]  # personal numbers masked
    reply: Optional[str]  # personal numbers masked
    replied_at: Optional[int]
    satisfaction: Optional[int]
    evaluated_at: Optional[int]
    withdrawn: bool


class DeadLetter(faust.Record, serializer="json"):
    """A record the pipeline could not count, with why and where it came from."""
    reason: str  # a code from streams.cleaning.REASONS
    message: str
    ticket_id: Optional[str]
    original_b64: str  # the record's bytes, cut at 64 KiB (see original_truncated)
    original_size: int
    original_sha256: str
    original_truncated: bool
    source_topic: Optional[str]
    source_partition: Optional[int]
    source_offset: Optional[int]

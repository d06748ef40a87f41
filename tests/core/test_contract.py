"""One contract: the JSON Schema is its source of truth; cleaning.py's hand checks are tested against it."""
import json
from pathlib import Path

from hypothesis import given, settings, strategies as st
from jsonschema import Draft202012Validator

from streams.core.cleaning import CleanEvent, Rejection, clean
from streams.core.pipeline import dead_letter, enriched_record

SCHEMA = json.loads((Path(__file__).resolve().parents[2] / "schemas" / "ticket_event.schema.json").read_text())
VALIDATOR = Draft202012Validator(SCHEMA)


def test_schema_is_valid_draft_2020_12():
    Draft202012Validator.check_schema(SCHEMA)


def test_enriched_and_dead_letter_records_are_what_the_docs_promise():
    """The side-output shapes (README "Topics"): built in one place each, checked here by name."""
    ev = clean(json.dumps({"ticket_id": "T1", "event": "created", "event_time": "2024-03-05T10:00:00",
                           "received_at": "2024-03-05T10:00:00", "channel": "电话", "content": "噪音"},
                          ensure_ascii=False).encode(), "k")
    from streams.core.counting import TicketState
    from streams.core.enrich import EnrichedEvent

    rec = enriched_record(EnrichedEvent(clean=ev, item="城市管理", item_source="given"),
                          TicketState("c", ev.received_at, "城市管理", "其他", "电话", "其他", "公共服务保障权"))
    assert {"ticket_id", "event", "event_time", "received_at", "category", "reply_type", "caller_hash"} <= set(rec)
    assert "caller" not in rec  # never the number itself
    dl = dead_letter(b"{", Rejection("invalid_json", "x"), None)
    assert {"reason", "message", "original_b64", "original_size", "original_sha256", "source_offset"} <= set(dl)


def test_hostile_records_schema_and_cleaning_agree():
    """The hand checks against the schema on hostile records (tests/hostile.py), not only generated ones."""
    from tests.hostile import hostile_records

    for kind, raw in hostile_records(3000, seed=3):
        try:
            doc = json.loads(raw)
        except (ValueError, RecursionError):
            assert isinstance(clean(raw, "k"), Rejection), kind
            continue
        out = clean(raw, "k")
        if not isinstance(doc, dict) or not VALIDATOR.is_valid(doc):
            assert isinstance(out, Rejection), (kind, raw[:200])
        else:
            assert isinstance(out, CleanEvent) or out.reason in (
                "impossible_time", "missing_field", "oversized", "invalid_time", "invalid_value"), (kind, out)


# Records that the schema accepts are accepted by cleaning and vice versa (up to what a schema
# cannot say: calendar validity and time ordering, and masked/limited texts).
times = st.sampled_from(["2024-03-05T10:00:00", "2024-03-05 10:00:00+08:00", "2024-03-05T02:00:00Z", "bad",
                         "2024-03-06T10:00", 5, None])
docs = st.fixed_dictionaries(
    {"ticket_id": st.one_of(st.sampled_from(["T1", "DG2024-1", "a b", ""]), st.integers()),
     "event": st.sampled_from(["created", "replied", "evaluated", "withdrawn", "snapshot", "nope"])},
    optional={
        "event_time": times, "received_at": times, "replied_at": times, "evaluated_at": times,
        "channel": st.one_of(st.sampled_from(["电话", "微信"]), st.integers(), st.none()),
        "content": st.one_of(st.sampled_from(["噪音", "x"]), st.lists(st.text(max_size=2), max_size=2)),
        "reply": st.one_of(st.sampled_from(["已处理"]), st.none(), st.integers()),
        "satisfaction": st.one_of(st.integers(-1, 7), st.sampled_from(["五", True]), st.none()),
        "withdrawn": st.one_of(st.booleans(), st.none(), st.just("yes")),
        "category": st.one_of(st.sampled_from(["交通管理"]), st.none(), st.integers()),
    })


@settings(max_examples=600, deadline=None)
@given(docs)
def test_cleaning_agrees_with_the_schema(doc):
    schema_ok = VALIDATOR.is_valid(doc)
    out = clean(json.dumps(doc, ensure_ascii=False).encode(), "k")
    if schema_ok:
        # The schema cannot check time order or snapshot completeness; everything else must pass.
        assert isinstance(out, CleanEvent) or out.reason in ("impossible_time", "missing_field"), (doc, out)
    else:
        assert isinstance(out, Rejection), doc

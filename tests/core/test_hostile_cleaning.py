"""Hostile input through the cleaning step: no crash, every bad record rejected with a reason."""
import json

from hypothesis import given, settings, strategies as st

from streams.core.cleaning import REASONS, CleanEvent, Rejection, clean
from tests.hostile import hostile_records


def test_ten_thousand_hostile_records_are_all_rejected_with_a_reason():
    seen_duplicate = False
    reasons = {}
    for kind, data in hostile_records(10_000, seed=1):
        out = clean(data, "k")
        if kind == "conflicting_duplicate":
            # Valid on its own; the counting step rejects all but the first as duplicate_event.
            assert isinstance(out, CleanEvent)
            seen_duplicate = True
            continue
        assert isinstance(out, Rejection), (kind, data[:200])
        assert out.reason in REASONS and out.message
        reasons[out.reason] = reasons.get(out.reason, 0) + 1
    assert seen_duplicate
    assert {"invalid_json", "invalid_utf8", "oversized", "wrong_type", "invalid_value", "missing_field",
            "not_an_object"} <= set(reasons), reasons


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=20)


@settings(max_examples=2000, deadline=None)
@given(st.one_of(st.binary(max_size=300), json_values.map(lambda v: json.dumps(v).encode()),
                 st.dictionaries(st.sampled_from(["ticket_id", "event", "event_time", "received_at", "channel",
                                                  "content", "satisfaction", "reply", "replied_at", "withdrawn"]),
                                 json_values, max_size=10).map(lambda d: json.dumps(d, ensure_ascii=False).encode())))
def test_clean_never_raises(data):
    out = clean(data, "k")
    assert isinstance(out, (CleanEvent, Rejection))
    if isinstance(out, Rejection):
        assert out.reason in REASONS

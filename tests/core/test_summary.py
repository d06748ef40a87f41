"""A short window's summary: every figure its buckets carry, and null (never a wrong 0) for the rest."""
from __future__ import annotations

import json

from streams.core.bucket_sums import FieldIds, bucket_sums
from streams.core.pipeline import Processor
from streams.core.summary import _NEEDS, summarize
from streams.core.testing import FixedPredictor
from streams.core.windows import DAY_OFFSET, bucket_start, window_resolution
from streams.generate.model import generate_tickets
from streams.generate.writer import lifecycle_events
from streams.text.rights import rights_claim

DAY = 86400
# What the live views read per breakdown row (exporter.py, the study page's live tables): never null.
READ_LIVE = ("tickets", "share", "repeat", "repeat_by_rule", "evaluated", "evaluation_rate", "satisfaction_mean",
             "replied", "reply_types", "reply_type_shares", "response_seconds_mean")


def _fields(flat: list) -> dict[str, int]:
    out: dict[str, int] = {}
    for name, amount in zip(flat[0::2], flat[1::2]):
        out[name] = out.get(name, 0) + int(amount)
    return out


def test_a_week_from_hourly_buckets_equals_the_same_days_from_daily_ones_where_it_carries_a_figure():
    records = [json.dumps(r, ensure_ascii=False).encode() for r, _ in lifecycle_events(generate_tickets(12000, seed=3))]
    proc = Processor("k", FixedPredictor(), rights=rights_claim, emit_records=False)
    increments = proc.process(records, {}).increments
    # Six whole Shanghai days of June, the watermark at their end: inside the hourly buckets'
    # retention, and the daily buckets hold exactly the same facts.
    since = bucket_start(1_717_200_000, window_resolution("30d"))  # 2024-06-01 00:00 Shanghai
    assert (since + DAY_OFFSET) % DAY == 0
    watermark = since + 6 * DAY - 1
    recent = [inc for inc in increments if since <= inc.at <= watermark]
    sums = bucket_sums(recent, watermark, FieldIds())
    hourly, daily = [], []
    for key, flat in sums.buckets.items():
        (hourly if key.startswith("b:1h:") else daily if key.startswith("b:1d:") else []).extend(flat)
    week = summarize(_fields(hourly), {}, source="x", window="7d")
    month = summarize(_fields(daily), {}, source="x", window="30d")

    # The overall row carries every metric: the whole top level is equal (but the breakdowns).
    tops = lambda rep: {k: v for k, v in rep.items() if not k.startswith("by_") and k not in ("window",)}
    assert tops(week) == tops(month) and week["tickets"] > 100
    for key in ("by_subcategory", "by_rights_claim", "by_reply_type"):  # not broken down at all in 7d
        assert week[key] == {} and month[key]
    nulled = set()
    for key in ("by_item", "by_channel", "by_district"):
        assert week[key].keys() == month[key].keys() and len(week[key]) >= 3
        for name, row in week[key].items():
            for figure, value in row.items():
                if value is None and month[key][name][figure] is not None:
                    nulled.add(figure)
                else:
                    assert value == month[key][name][figure], (key, name, figure)
            assert all(row[f] is not None for f in ("tickets", "share", "repeat", "evaluated", "replied"))
        # the figures the live views read are there wherever the month has them
        for f in READ_LIVE:
            assert [r[f] for r in week[key].values()] == [r[f] for r in month[key].values()], (key, f)
    # only what the summary declares uncarried is null, and each such figure is null somewhere
    assert nulled == set(_NEEDS)

"""The vectorised bucket sums equal their plain definition: FieldTotals per bucket (and all time)."""
from __future__ import annotations

from hypothesis import given, settings, strategies as st

from streams.core.bucket_sums import FieldIds, bucket_sums
from streams.core.counting import FieldTotals, Increment
from streams.core.windows import MAX_RETENTION, RESOLUTIONS, buckets_for, is_late

WM = 1_717_200_000  # 2024-06-01 08:00 Shanghai


def plain(increments, watermark):
    """What encode_batch computed before: a FieldTotals per bucket, every increment added one by one."""
    totals: dict[str, FieldTotals] = {}
    meta = {}
    all_time = FieldTotals()
    late = 0
    for inc in increments:
        all_time.add(inc.dims, inc.metrics)
        if is_late(inc.at, watermark):
            late += 1
            continue
        for res, start in buckets_for(inc.at, watermark):
            key = f"b:{res.name}:{start}"
            meta[key] = (f"idx:{res.name}", start, res.retention + 86400)
            bucket = totals.setdefault(key, FieldTotals())
            for dv in inc.dims:
                bucket.add([dv], {m: v for m, v in inc.metrics.items() if res.carries(dv[0], m)})
    return {k: t.flat() for k, t in totals.items()}, meta, all_time.flat(), late


def as_sets(buckets, all_time):
    pairs = lambda flat: sorted(zip(flat[0::2], flat[1::2]))
    return {k: pairs(v) for k, v in buckets.items()}, pairs(all_time)


DIMS = [("all", ""), ("item", "交通运输"), ("item", "城乡建设"), ("sub", "交通运输/违章停车"), ("channel", "电话"),
        ("channel", "微信"), ("district", "南城"), ("district", "东城"), ("rights", "监督"), ("reply", "onsite")]
METRICS = ["tickets", "off_hours", "replied", "response_s", "sat_sum", "sat_5", "repeat_text", "withdrawn"]
# around the watermark: inside 5 minutes' retention, the hours', the days', and late
OFFSETS = st.sampled_from([0, -60, -299, -300, -7199, -7200, -7201, -86_400, -29 * 86400 + 1, -29 * 86400 - 1,
                           -MAX_RETENTION, -MAX_RETENTION - 1, -400 * 86400, 3600])
increment = st.builds(
    lambda off, jitter, dims, metrics: Increment(WM + off - jitter, dims, metrics),
    OFFSETS, st.integers(0, 5000),
    st.lists(st.sampled_from(DIMS), min_size=0, max_size=6, unique=True),
    st.dictionaries(st.sampled_from(METRICS), st.integers(-100, 10**7), min_size=1, max_size=4))


@settings(max_examples=300, deadline=None)
@given(st.lists(increment, max_size=60))
def test_bucket_sums_equal_field_totals_per_bucket(increments):
    ids = FieldIds()
    got = bucket_sums(increments, WM, ids)
    buckets, meta, all_time, late = plain(increments, WM)
    assert as_sets(got.buckets, got.all_time) == as_sets(buckets, all_time)
    assert got.meta == meta
    assert got.late == late
    text = bucket_sums(increments, WM, ids, as_text=True)  # what goes to Lua: the same sums in decimal
    decimal = lambda flat: [str(x) if i % 2 else x for i, x in enumerate(flat)]
    assert as_sets(text.buckets, text.all_time) == as_sets({k: decimal(v) for k, v in buckets.items()},
                                                           decimal(all_time))


def test_one_field_registry_serves_batches_that_meet_new_values():
    ids = FieldIds()
    first = [Increment(WM, [("all", ""), ("item", "交通运输")], {"tickets": 1, "response_s": 0})]
    second = [Increment(WM - 4000, [("district", "南城"), ("item", "城乡建设")], {"replied": 2}),
              Increment(WM - 4000, [("all", "")], {"tickets": 1, "sat_5": 1})]
    for batch in (first, second, first + second):
        got = bucket_sums(batch, WM, ids)
        buckets, meta, all_time, late = plain(batch, WM)
        assert as_sets(got.buckets, got.all_time) == as_sets(buckets, all_time)
        assert got.meta == meta
    # zero sums are left out, as FieldTotals.flat does, but the bucket is still listed
    got = bucket_sums(first, WM, ids)
    assert "item|交通运输|response_s" not in got.buckets[f"b:1h:{WM - WM % 3600}"]
    assert [r.name for r in RESOLUTIONS if f"b:{r.name}:" in " ".join(got.meta)] == ["5m", "1h", "1d"]


def test_sums_past_what_a_float_holds_exactly_stay_exact():
    big = 2 ** 60
    incs = [Increment(WM, [("all", "")], {"response_s": big}), Increment(WM, [("all", "")], {"response_s": 3})]
    got = bucket_sums(incs, WM, FieldIds())
    assert got.all_time == ["all||response_s", big + 3]


def test_amounts_as_text_are_the_same_sums_in_decimal():
    incs = [Increment(WM - i * 700, [("all", ""), ("item", "交通运输")], {"tickets": 1, "response_s": 10 ** 12 + i})
            for i in range(20)]
    ids = FieldIds()
    numbers, text = bucket_sums(incs, WM, ids), bucket_sums(incs, WM, ids, as_text=True)
    assert text.buckets.keys() == numbers.buckets.keys()
    for key, flat in numbers.buckets.items():
        assert text.buckets[key][0::2] == flat[0::2]
        assert text.buckets[key][1::2] == [str(a) for a in flat[1::2]]
    assert text.all_time[1::2] == [str(a) for a in numbers.all_time[1::2]]

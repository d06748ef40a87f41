"""The window clock (streams/core/windows.py): record by record, whatever the order of times."""
from hypothesis import given, settings, strategies as st

from streams.core.windows import QUORUM, RECENT, TOLERANCE, PartitionClock, advance_watermark

T0 = 1_700_000_000


def by_definition(times: list[int]) -> int:
    """The clock straight from its definition: after each record, the newest of the last RECENT
    times that QUORUM of them support within TOLERANCE; the largest such time so far."""
    clock = 0
    for n in range(1, len(times) + 1):
        recent = times[max(0, n - RECENT):n]
        for c in recent:
            if c > clock and sum(1 for o in recent if c - TOLERANCE <= o <= c) >= QUORUM:
                clock = c
    return clock


steps = st.one_of(st.integers(0, 2 * TOLERANCE), st.integers(-3 * TOLERANCE, 400 * TOLERANCE))


@settings(max_examples=300, deadline=None)
@given(deltas=st.lists(steps, min_size=1, max_size=40), cut=st.integers(0, 40))
def test_the_clock_is_its_definition_and_does_not_depend_on_batches(deltas, cut):
    times, t = [], T0
    for d in deltas:  # mostly forward in small steps; now and then far ahead or back (typos, outliers)
        t = t + d if d >= 0 else T0 + d
        times.append(t)
    clock = PartitionClock()
    for t in times:
        clock.push(t)
    assert clock.watermark == by_definition(times)
    recent, wm = advance_watermark([], times[:cut], 0)
    recent, wm = advance_watermark(recent, times[cut:], wm)
    assert (recent, wm) == (clock.recent, clock.watermark)


def test_a_lone_outlier_does_not_move_the_clock():
    clock = PartitionClock()
    for t in (T0, T0 + 60, T0 + 120, T0 + 75 * 365 * 86400, T0 + 180):
        clock.push(t)
    assert clock.watermark == T0 + 180


def test_the_short_windows_carry_what_every_live_reader_reads_of_a_breakdown():
    """The 5-minute and hourly buckets keep only some metrics per item, channel and district
    (WATCH_METRICS); a reader of one they drop would see 0 for ever, not an error."""
    from streams.commands.exporter import PER_BREAKDOWN
    from streams.core import monitors, spikes
    from streams.core.counting import REPLY_TYPES
    from streams.core.windows import RESOLUTIONS, window_resolution

    read = {(dim, metric) for dim, metric, _ in PER_BREAKDOWN.values()}
    read |= {(dim, m) for dim in ("item", "channel") for m in ("evaluated", "sat_sum")}  # satisfaction means
    read |= {(dim, m) for dim in spikes.SCOPES for m in spikes.REPEAT_METRICS}  # the spike monitor
    read |= {(dim, "tickets") for dim in monitors.SCOPES}  # the rising score
    # the study page's live tables: reply types per item, the district league's response time
    read |= {("item", m) for m in ("replied", *(f"reply_{t}" for t in REPLY_TYPES))}
    read |= {("district", m) for m in ("replied", "response_s", "evaluated", "sat_sum")}
    short = [window_resolution(w) for w in ("1h", "24h", "7d")]
    assert {r.name for r in short} == {"5m", "1h"} and all(r in RESOLUTIONS for r in short)
    for res in short:
        assert not [(d, m) for d, m in read if not res.carries(d, m)], res.name
        assert res.carries("all", "closed_15d") and not res.carries("district", "closed_15d")

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

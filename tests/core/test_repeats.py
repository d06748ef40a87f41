"""join_group against its definition, written the plain way (passes over every member)."""
from __future__ import annotations

from hypothesis import given, settings, strategies as st

from streams.core.repeats import Group, Member, join_group


def reference(group: Group | None, new: Member, days: int) -> tuple[Group, list[Member]]:
    span = days * 86400
    earlier = lambda a, b: (a.received_at, a.ticket_id) < (b.received_at, b.ticket_id)  # noqa: E731
    members = list(group.members) if group else []
    if any(m.ticket_id == new.ticket_id for m in members):
        return Group(members), []
    flagged_now = []
    if any(earlier(m, new) and new.received_at - m.received_at <= span for m in members):
        new = Member(new.ticket_id, new.received_at, True, new.dims)
        flagged_now.append(new)
    updated = []
    for m in members:
        if not m.flagged and earlier(new, m) and m.received_at - new.received_at <= span:
            m = Member(m.ticket_id, m.received_at, True, m.dims)
            flagged_now.append(m)
        updated.append(m)
    updated.append(new)
    return Group(sorted(updated, key=lambda m: (m.received_at, m.ticket_id))), flagged_now


arrivals = st.lists(st.tuples(st.sampled_from([f"T{i}" for i in range(90)]), st.integers(0, 12) .map(lambda d: d * 43_200)),
                    min_size=1, max_size=120)


@settings(max_examples=300, deadline=None)
@given(arrivals=arrivals, days=st.integers(1, 3))
def test_join_group_equals_its_definition_in_any_arrival_order(arrivals, days):
    fast = slow = None
    for tid, t in arrivals:
        fast, f_flagged = join_group(fast, Member(tid, t, False, (("k", tid),)), days)
        slow, s_flagged = reference(slow, Member(tid, t, False, (("k", tid),)), days)
        assert f_flagged == s_flagged
        assert fast.members == slow.members


def definition(tickets: list[tuple[str, int]], days: int) -> set[str]:
    """Repeats of one group by the rule itself: an earlier member ((time, id) order) at most `days` before."""
    span = days * 86400
    return {tid for tid, t in tickets
            if any((u, uid) < (t, tid) and t - u <= span for uid, u in tickets)}


# More members than any bound a group might keep, all within a few spans: the ticket order decides
# nothing, whichever order they arrive in (a group of the year holds up to 254 members).
crowd = st.lists(st.integers(0, 200).map(lambda h: h * 21_600), min_size=65, max_size=160).map(
    lambda times: [(f"T{i:03d}", t) for i, t in enumerate(times)])


@settings(max_examples=200, deadline=None)
@given(tickets=crowd, days=st.integers(1, 5), data=st.data())
def test_a_crowded_groups_repeats_do_not_depend_on_arrival_order(tickets, days, data):
    order = data.draw(st.permutations(tickets))
    group, counted = None, []
    for tid, t in order:
        group, flagged = join_group(group, Member(tid, t, False, (("k", tid),)), days)
        counted += [m.ticket_id for m in flagged]
    assert sorted(counted) == sorted(definition(tickets, days))  # each repeat counted once, none missed


def test_a_late_ticket_whose_only_earlier_member_is_old_is_a_repeat_in_a_full_group():
    """The case that made one 1-worker replay of the year differ from the report: 64 newer members
    came first, the oldest was forgotten, and a late ticket between them lost its repeat."""
    day = 86400
    order = [("A", 0)] + [(f"N{i:02d}", 25 * day + i) for i in range(64)] + [("X", 20 * day)]
    group, counted = None, []
    for tid, t in order:
        group, flagged = join_group(group, Member(tid, t, False, ()), 30)
        counted += [m.ticket_id for m in flagged]
    assert "X" in counted and sorted(counted) == sorted(definition(order, 30))


def test_a_membership_sent_again_after_its_group_grew_changes_nothing():
    """Side outputs are at-least-once: the repeat stage may see a membership twice, however many
    members have joined its group between the two."""
    group, counted = None, []
    memberships = [(f"T{i:03d}", i * 3600) for i in range(100)]
    for tid, t in memberships + memberships[:5]:
        group, flagged = join_group(group, Member(tid, t, False, ()), 30)
        counted += [m.ticket_id for m in flagged]
    assert sorted(counted) == [f"T{i:03d}" for i in range(1, 100)]

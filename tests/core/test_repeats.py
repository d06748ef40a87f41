"""join_group against its definition, written the plain way (three passes over the members)."""
from __future__ import annotations

from hypothesis import given, settings, strategies as st

from streams.core.repeats import MAX_MEMBERS, Group, Member, join_group


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
    if len(updated) > MAX_MEMBERS:
        updated = sorted(updated, key=lambda m: (m.received_at, m.ticket_id))[-MAX_MEMBERS:]
    return Group(updated), flagged_now


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

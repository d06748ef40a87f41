"""Messages of the members topic: a group's memberships always on one partition, none lost, none too large."""
import orjson

from streams.core.members import MAX_PER_MESSAGE, member_messages, partition_of


def test_memberships_are_grouped_by_their_group_keys_partition_and_chunked():
    members = [(f"c:{i % 37}:交通管理", {"key": f"c:{i % 37}:交通管理", "ticket_id": f"T{i}"}) for i in range(5000)]
    messages = member_messages("ns1", members, 4)
    seen = []
    for partition, raw in messages:
        message = orjson.loads(raw)
        assert message["ns"] == "ns1" and 0 < len(message["members"]) <= MAX_PER_MESSAGE
        for m in message["members"]:
            assert partition_of(m["key"], 4) == partition
            seen.append(m["ticket_id"])
    assert sorted(seen) == sorted(r["ticket_id"] for _, r in members)
    assert len({p for p, _ in messages}) == 4 and len(messages) < 12  # a few messages, not one per membership


def test_a_messages_namespace_is_read_the_same_with_or_without_the_fast_path():
    from streams.core.members import member_namespace

    (_, raw), = member_messages("rebuild-2024_v2", [("k", {"key": "k"})], 1)
    assert member_namespace(raw) == "rebuild-2024_v2"
    assert member_namespace(b'{ "members": [], "ns": "other" }') == "other"  # another writer's spacing
    assert member_namespace(b'{"ns":"cut') is None and member_namespace(b"[1, 2]") is None


def test_a_membership_is_checked_pair_by_pair_against_the_taxonomy():
    from schemas.taxonomy import load_taxonomy
    from streams.core.cleaning import Rejection
    from streams.core.members import MemberProcessor

    proc = MemberProcessor()
    tx = load_taxonomy()
    item = next(iter(tx.subcategories))
    good = [["all", ""], ["item", item], ["sub", f"{item}/{next(iter(tx.subcategories[item]))}"],
            ["channel", next(iter(tx.channels))], ["district", next(iter(tx.districts))],
            ["rights", next(iter(tx.rights_claims))]]
    member = lambda i, **kw: {"rule": "caller", "key": "c:1", "ticket_id": f"T{i}", "received_at": 1700000000 + i,
                              "dims": good, **kw}
    records = [member(0), member(1), member(2, rule="nope"), member(3, dims=good[:5]),
               member(4, dims=[good[0], ["item", "不存在"], *good[2:]]), member(5, dims="all"),
               member(6, dims=[[["x"], "y"]] + good[1:]), member(7, received_at="1700000007"), member(8)]
    (_, raw), = member_messages("ns", [("c:1", r) for r in records], 1)
    parsed = [m for m, _ in proc.prepare([raw]).parsed[0]]
    ok = [i for i, m in enumerate(parsed) if not isinstance(m, Rejection)]
    assert ok == [0, 1, 8]
    assert all(isinstance(parsed[i], Rejection) and parsed[i].reason == "bad_member" for i in range(2, 8))
    assert all(parsed[i][2].dims == tuple(map(tuple, good)) for i in ok)
    wrong_sub = member(9, dims=[*good[:2], ["sub", f"{list(tx.subcategories)[1]}/x"], *good[3:]])
    (_, raw), = member_messages("ns", [("c:1", wrong_sub)], 1)
    assert isinstance(proc.prepare([raw]).parsed[0][0][0], Rejection)  # a sub of another item


def test_memberships_as_written_now_parse_back_to_their_member_and_bad_ones_are_refused():
    from schemas.taxonomy import load_taxonomy
    from streams.core.cleaning import Rejection
    from streams.core.members import MemberProcessor
    from streams.core.repeats import Member, member_record

    tx = load_taxonomy()
    item = next(iter(tx.subcategories))
    dims = (("all", ""), ("item", item), ("sub", f"{item}/{next(iter(tx.subcategories[item]))}"),
            ("channel", next(iter(tx.channels))), ("district", next(iter(tx.districts))),
            ("rights", next(iter(tx.rights_claims))))
    member = Member("T1", 1_700_000_000, False, dims)
    good = member_record("text", "t:南城:abc", member)
    other_item = list(tx.subcategories)[1]
    bad = [good[:8], good + ["x"], ["weather", *good[1:]], [*good[:3], "1700000000", *good[4:]],
           [*good[:7], "火星", good[8]], [*good[:5], f"{other_item}/x", *good[6:]], [*good[:5], 5, *good[6:]],
           [*good[:4], ["unhashable"], *good[5:]], "text"]
    (_, raw), = member_messages("ns", [("t:南城:abc", r) for r in [good, *bad]], 1)
    parsed = [m for m, _ in MemberProcessor().prepare([raw]).parsed[0]]
    assert parsed[0] == ("text", "t:南城:abc", member)
    assert all(isinstance(p, Rejection) and p.reason == "bad_member" for p in parsed[1:])

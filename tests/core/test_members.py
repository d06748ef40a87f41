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

"""The compact ticket-state and repeat-group values Redis holds: the written format and round trips."""
from __future__ import annotations

import random

import pytest

from schemas.taxonomy import UNKNOWN, load_taxonomy
from streams.adapters.store import StateCodec
from streams.core.counting import REPLY_TYPES, Parked, TicketState
from streams.core.repeats import Group, Member, member_order

TAXONOMY = load_taxonomy()


def written(codec: StateCodec, s: TicketState) -> str:
    """The value format, spelled out from the layout (store.py): "facts|received|i|s|c|d|r|y" as
    taxonomy indices, the sub empty when unknown, "|score|evaluated_at" once evaluated."""
    sub = codec.subs[s.item].index(s.sub) if s.sub in codec.subs[s.item] else ""
    parts = [s.facts, s.received_at, codec.items.index(s.item), sub, codec.channels.index(s.channel),
             codec.districts.index(s.district), codec.rights.index(s.rights),
             codec.replies.index(s.reply_type) if s.reply_type else ""]
    if "e" in s.facts:
        parts += [s.score, s.evaluated_at]
    return "|".join(map(str, parts))


def random_state(rng: random.Random) -> TicketState:
    item = rng.choice(TAXONOMY.items)
    sub = rng.choice(list(TAXONOMY.subcategories[item]) + [UNKNOWN])
    facts = "".join(f for f in "crew" if f == "c" or rng.random() < 0.5)
    evaluated = "e" in facts
    return TicketState(facts, rng.randrange(1_700_000_000, 1_740_000_000), item, sub, rng.choice(TAXONOMY.channels),
                       rng.choice(TAXONOMY.districts), rng.choice(TAXONOMY.rights_claims),
                       rng.choice(("",) + REPLY_TYPES), rng.randint(1, 5) if evaluated else 0,
                       rng.randrange(1_700_000_000, 1_740_000_000) if evaluated else 0)


def test_states_are_written_in_the_layout_format_and_read_back_whole():
    codec = StateCodec(TAXONOMY)
    rng = random.Random(7)
    states = [random_state(rng) for _ in range(3000)]
    for s in states:
        raw = codec.encode(s)
        assert raw == written(codec, s)
        assert codec.decode(raw) == s


def test_a_state_outside_the_taxonomy_is_refused_not_written():
    codec = StateCodec(TAXONOMY)
    good = random_state(random.Random(1))
    for bad in (TicketState("c", 1, "不存在的事项"), TicketState("c", 1, good.item, good.sub, "信鸽", good.district,
                                                                   good.rights)):
        with pytest.raises(KeyError):
            codec.encode(bad)
    with pytest.raises((IndexError, ValueError)):
        codec.decode("c|1|9999|||||")


def test_a_waiting_ticket_keeps_its_parked_follow_ups():
    codec = StateCodec(TAXONOMY)
    s = TicketState(parked=(Parked("replied", 5, "onsite", "x|y"), Parked("evaluated", 9, "4")))
    assert codec.decode(codec.encode(s)) == s


def test_groups_round_trip_and_keep_the_member_format():
    codec = StateCodec(TAXONOMY)
    rng = random.Random(11)
    for _ in range(300):
        members = []
        for j in range(rng.randint(1, 12)):
            s = random_state(rng)
            flagged = rng.random() < 0.3
            members.append(Member(f"T{rng.randrange(10**6)}-{j}", s.received_at, flagged,
                                  () if flagged else tuple(s.dims(with_reply=False))))
        members.sort(key=member_order)
        group = Group(members)
        raw = codec.encode_group(group)
        for part, m in zip(raw.split(";"), members):  # "id,time,flag[,i.s.c.d.r]"
            fields = part.split(",")
            assert fields[:3] == [m.ticket_id, str(m.received_at), "1" if m.flagged else "0"]
            if not m.flagged:
                d = dict(m.dims)
                state = TicketState("c", 0, d["item"], d["sub"].split("/", 1)[1], d["channel"], d["district"],
                                    d["rights"])
                assert fields[3] == ".".join(written(codec, state).split("|")[2:7])
        assert codec.decode_group(raw) == group
        assert codec.encode_group(codec.decode_group(raw)) == raw

"""A hand-made event list whose study figures can be counted by hand (see the comments)."""
from __future__ import annotations

import json

from streams.core.pipeline import Processor
from streams.core.testing import FixedPredictor
from streams.text.rights import rights_claim

ONSITE = "经现场核查，执法人员已到场处理，督促整改完毕。"
EXPLAIN = "根据《道路交通安全法》规定，现将有关政策解释如下。"
HOSTILE_DISTRICT = "<script>alert(1)</script>&\"'\x01镇"


def ev(tid: str, event: str, t: str, **extra) -> bytes:
    doc = {"ticket_id": tid, "event": event, "event_time": t}
    if event in ("created", "snapshot"):
        doc.update(received_at=t, channel="电话", content=f"{tid} 路口违章停车", caller="13900000000")
    doc.update(extra)
    return json.dumps(doc, ensure_ascii=False).encode()


# Six tickets, times in Shanghai time:
#   T1 received 2024-06-01 08:30 (off-hours) 交通管理 南城街道; replied 12:30 (4 h, onsite); scored 5 on 06-02
#   T2 received 2024-06-01 10:00 (on-hours)  交通管理 东城街道 微信; replied 06-02 10:00 (24 h, explanation); scored 1
#   T3 received 2024-06-30 23:00 (off-hours) 城市管理 南城街道; replied 07-01 03:00 (4 h, onsite: July's reply)
#   T4 received 2024-05-31 20:00 (off-hours) 城市管理 南城街道; replied 06-01 20:00 (24 h, onsite: June's reply)
#   T5 received 2024-07-02 09:30 (on-hours)  住房保障 东城街道; withdrawn 07-02 12:00
#   T6 snapshot received 2024-06-15 19:00 (off-hours) 城市管理 南城街道, repeat of T3, scored 3 on 06-16
EVENTS = [
    ev("T4", "created", "2024-05-31T20:00:00", category="城市管理", district="南城街道"),
    ev("T1", "created", "2024-06-01T08:30:00", category="交通管理", district="南城街道"),
    ev("T2", "created", "2024-06-01T10:00:00", category="交通管理", district="东城街道", channel="微信"),
    ev("T1", "replied", "2024-06-01T12:30:00", reply=ONSITE, replied_at="2024-06-01T12:30:00"),
    ev("T4", "replied", "2024-06-01T20:00:00", reply=ONSITE, replied_at="2024-06-01T20:00:00"),
    ev("T1", "evaluated", "2024-06-02T09:00:00", satisfaction=5, evaluated_at="2024-06-02T09:00:00"),
    ev("T2", "replied", "2024-06-02T10:00:00", reply=EXPLAIN, replied_at="2024-06-02T10:00:00"),
    ev("T2", "evaluated", "2024-06-03T10:00:00", satisfaction=1, evaluated_at="2024-06-03T10:00:00"),
    ev("T6", "snapshot", "2024-06-16T08:00:00", received_at="2024-06-15T19:00:00", category="城市管理",
       district="南城街道", repeat_of="T3", satisfaction=3, evaluated_at="2024-06-16T08:00:00"),
    ev("T3", "created", "2024-06-30T23:00:00", category="城市管理", district="南城街道"),
    ev("T3", "replied", "2024-07-01T03:00:00", reply=ONSITE, replied_at="2024-07-01T03:00:00"),
    ev("T5", "created", "2024-07-02T09:30:00", category="住房保障", district="东城街道"),
    ev("T5", "withdrawn", "2024-07-02T12:00:00", withdrawn=True),
]


def processor() -> Processor:
    return Processor("k", FixedPredictor(), rights=rights_claim, emit_records=True, repeat_rules=None)

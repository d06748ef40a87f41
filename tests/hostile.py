"""Malformed and hostile records, reproducibly: what a fuzzer would throw at the raw topic."""
from __future__ import annotations

import json
import random

VALID = {"ticket_id": "H0", "event": "created", "event_time": "2024-05-01T10:00:00", "received_at": "2024-05-01T10:00:00",
         "channel": "电话", "content": "噪音扰民"}
UNICODE = ["\u0000", "\u200b", "\ufeff", "𠀀𪚥", "🙂" * 50, "\u202e反转", "Ａ１２３", "\ud7ff", "ｶﾀｶﾅ", "\U0010ffff"]
TIMES = ["0000-00-00T00:00:00", "9999-12-31T23:59:59", "1969-12-31T23:59:59Z", "2024-02-30T10:00:00",
         "2024-05-01T25:00:00", "2024-05-01T10:00:00+25:00", "NaN", "", "2024-05-01T10:00:00.1234567",
         "+002024-05-01T10:00:00", "1e308", "2024-W18-3"]


def hostile_records(n: int, seed: int = 0) -> list[tuple[str, bytes]]:
    """(kind, bytes) of records that must all be dead-lettered. Ids never collide with valid tickets
    except for 'conflicting_duplicate', which re-uses VALID_IDS on purpose."""
    rnd = random.Random(seed)
    out = []
    kinds = ["random_bytes", "deep_json", "huge_json", "wrong_types", "unicode", "absurd_time", "megabyte_text",
             "not_object", "conflicting_duplicate", "missing"]
    for i in range(n):
        kind = kinds[i % len(kinds)]
        doc = dict(VALID, ticket_id=f"HX{seed}-{i}")
        if kind == "random_bytes":
            data = bytes(rnd.getrandbits(8) for _ in range(rnd.randint(1, 200))).replace(b"\n", b" ")
            if data.strip() == b"":
                data = b"\xff"
            try:  # random bytes that happen to be a valid record would be a bad test case
                json.loads(data)
                data = b"\xff" + data
            except Exception:
                pass
        elif kind == "deep_json":
            depth = rnd.randint(500, 20000)
            data = ('{"ticket_id": ' + "[" * depth + "]" * depth + "}").encode()
        elif kind == "huge_json":
            data = json.dumps({**doc, "content": [rnd.random() for _ in range(rnd.randint(5000, 9000))]}).encode()
        elif kind == "wrong_types":
            field = rnd.choice(["ticket_id", "event", "event_time", "channel", "content", "satisfaction", "withdrawn"])
            doc[field] = rnd.choice([12345, 1.5, [], {}, ["x"], {"a": 1}] + ([] if field == "withdrawn" else [True]))
            if field == "satisfaction":
                doc["event"] = "snapshot"
                doc["satisfaction"] = rnd.choice(["5", 4.5, True, [5]])
            data = json.dumps(doc, ensure_ascii=False).encode()
        elif kind == "unicode":
            doc["ticket_id"] = rnd.choice(UNICODE) + str(i)  # ids are ASCII only
            doc["content"] = "".join(rnd.choice(UNICODE) for _ in range(10))
            data = json.dumps(doc, ensure_ascii=rnd.random() < 0.5).encode()
        elif kind == "absurd_time":
            doc[rnd.choice(["event_time", "received_at"])] = rnd.choice(TIMES)
            data = json.dumps(doc).encode()
        elif kind == "megabyte_text":
            doc["content"] = "长" * (1024 * 1024 // 3 + rnd.randint(0, 1000))
            data = json.dumps(doc, ensure_ascii=False).encode()
        elif kind == "not_object":
            data = rnd.choice([b"[]", b"null", b"42", b'"ticket"', b"true", b"[{}]"])
        elif kind == "conflicting_duplicate":
            doc = dict(VALID, ticket_id="DUPLICATE-1", content=f"不同的内容 {i}")
            data = json.dumps(doc, ensure_ascii=False).encode()
        else:  # missing
            doc.pop(rnd.choice(["ticket_id", "event", "event_time", "received_at", "channel", "content"]))
            data = json.dumps(doc, ensure_ascii=False).encode()
        out.append((kind, data))
    return out

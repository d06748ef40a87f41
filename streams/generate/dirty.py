"""Realistic bad records mixed into the replica, each of exactly one kind.

The keys of `KINDS` are the reason codes the cleaning step (`streams.core.cleaning.REASONS`) gives the
records, so the manifest can be checked against the report's rejection counts. Every bad record
but a duplicate carries a fresh ticket id ("DG2024X0000001"), never a real ticket's, so the valid
figures are untouched; a duplicate is a byte-exact copy of a recent valid record.

The mixer has its own RNG: the dirty rate never changes the tickets themselves.
"""
from __future__ import annotations

import random
from collections import deque
from datetime import datetime, timedelta

from streams.generate.model import QuotaSampler
from streams.generate.writer import dumps

KINDS = ("invalid_json", "missing_field", "wrong_type", "impossible_time", "duplicate_event", "oversized",
         "invalid_utf8")
MAX_TEXT_CHARS = 20_000  # the contract's limit on content
_BAD_BYTES = (b"\xff", b"\xe5\x9d", b"\xc3\x28", b"\xed\xa0\x80", b"\x80\x80", b"\xf0\x9f\x98")
_MARK = "\u2063BAD\u2063"


class DirtyMixer:
    """Decides after each valid record whether bad ones follow, and writes them.

    `rate` is the fraction of ALL records that are bad: after a valid record a bad one follows
    with probability rate / (1 - rate), tracked by a QuotaSampler so the fraction is close.
    """

    def __init__(self, rate: float, seed: int, mode: str, year: int):
        if not 0 <= rate < 0.5:
            raise ValueError("--dirty-rate must be in [0, 0.5)")
        self.rng = random.Random(f"{seed}:{mode}:dirty")
        self.sampler = QuotaSampler(rate / (1 - rate)) if rate > 0 else None
        self.mode = mode
        self.year = year
        self.counts = dict.fromkeys(KINDS, 0)
        self.recent: deque[bytes] = deque(maxlen=500)
        self.base: dict | None = None  # the latest created/snapshot record, a model for fakes
        self.fresh = 0

    def after(self, rec: dict, line: bytes) -> list[bytes]:
        """Bad lines to write after the valid record `rec` (serialised as `line`)."""
        self.recent.append(line)
        if rec["event"] in ("created", "snapshot"):
            self.base = rec
        if self.sampler is None or self.base is None or not self.sampler.draw(self.rng):
            return []
        kind = self.rng.choice(KINDS)
        self.counts[kind] += 1
        return [getattr(self, "_" + kind)()]

    # -- one builder per kind; each returns one line with exactly that defect ----------------------

    def _fake(self) -> dict:
        self.fresh += 1
        rec = dict(self.base)
        rec["ticket_id"] = f"DG{self.year}X{self.fresh:07d}"
        return rec

    def _invalid_json(self) -> bytes:
        rec = self._fake()
        text = dumps(rec).decode("utf-8")
        if self.rng.random() < 0.7:
            # A record cut off mid-write, on a character boundary (else it would be invalid UTF-8)
            # and after the fake id (so nothing that salvages ids can find a real ticket's).
            keep = text.index(rec["ticket_id"]) + len(rec["ticket_id"]) + 1
            return text[: self.rng.randint(keep, len(text) - 2)].encode("utf-8")
        # a producer that printed a Python dict instead of JSON
        return text.replace('"', "'").encode("utf-8")

    def _missing_field(self) -> bytes:
        rec = self._fake()
        if self.rng.random() < 0.5:
            del rec["ticket_id"]
        else:
            del rec["content"]
        return dumps(rec)

    def _wrong_type(self) -> bytes:
        rec = self._fake()
        roll = self.rng.random()
        if roll < 0.34:
            rec["channel"] = 12345  # a channel code instead of its name
        elif roll < 0.67:
            rec["content"] = [rec["content"]]
        elif self.mode == "snapshot":
            rec.update(reply="已处理。", replied_at=rec["event_time"], satisfaction="五", evaluated_at=rec["event_time"],
                       withdrawn=False)
        else:
            rec = {"ticket_id": rec["ticket_id"], "event": "evaluated", "event_time": rec["event_time"],
                   "satisfaction": "五", "evaluated_at": rec["event_time"]}
        return dumps(rec)

    def _impossible_time(self) -> bytes:
        rec = self._fake()
        roll = self.rng.random()
        if roll < 0.35:
            rec["received_at"] = "1970-01-01T08:00:00+08:00"  # an unset epoch timestamp
        elif roll < 0.7 or self.mode != "snapshot":
            rec["received_at"] = rec["received_at"].replace(str(self.year), "2999", 1)  # a typo'd year
        else:  # replied before it was received (a clock error on the handling office's side)
            rec["reply"] = "已转交属地处理。"
            rec["replied_at"] = iso_minus(rec["received_at"], hours=self.rng.randint(1, 72))
            rec["withdrawn"] = False
        return dumps(rec)

    def _duplicate_event(self) -> bytes:
        return self.rng.choice(self.recent)

    def _oversized(self) -> bytes:
        rec = self._fake()
        body = rec["content"]
        reps = MAX_TEXT_CHARS // max(1, len(body)) + 1 + self.rng.randint(0, 3)
        rec["content"] = "".join([body] * reps)[: MAX_TEXT_CHARS + 1 + self.rng.randint(0, 3000)]
        return dumps(rec)

    def _invalid_utf8(self) -> bytes:
        rec = self._fake()
        content = rec["content"]
        cut = self.rng.randint(0, len(content))
        rec["content"] = content[:cut] + _MARK + content[cut:]
        return dumps(rec).replace(_MARK.encode("utf-8"), self.rng.choice(_BAD_BYTES))


def iso_minus(value: str, hours: int) -> str:
    """An ISO time `hours` earlier (same +08:00 form as the generator writes)."""
    dt = datetime.fromisoformat(value) - timedelta(hours=hours)
    return dt.isoformat(timespec="seconds")

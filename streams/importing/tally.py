"""What an import did: rows read, events written, rows rejected and facts dropped by reason (with
their row numbers), and the values the taxonomy does not know. Bounded whatever the file's size:
the first row numbers per reason and the most frequent values are kept, the rest are counted."""
from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from typing import TextIO

from streams.importing.rows import DROPPED, KIND_TITLES, REJECTED, WRITTEN, Converted, Problem

ROWS_SHOWN = 10
DISTINCT_KEPT = 1000

NOTE_TITLES = {
    "channel_defaulted": "channel blank or no channel column: tickets given {channel} (set --channel)",
    "content_from_title": "content blank: tickets whose title is used as the content",
    "date_only_time": "times with a date only, read as 00:00 Asia/Shanghai",
    "channel_as_other": "channels the taxonomy counts as 其他 (add aliases in schemas/taxonomy.json)",
    "district_as_other": "districts the taxonomy counts as 其他 (add aliases in schemas/taxonomy.json)",
    "item_predicted": "items the taxonomy does not know: the item is predicted from the text",
}


@dataclass
class ReasonCount:
    count: int = 0
    rows: list[int] = field(default_factory=list)
    example: str = ""


@dataclass
class Tally:
    source: str = ""
    detail: str = ""
    header_row: int = 0
    columns: str = ""
    rows_read: int = 0
    rows_imported: int = 0
    blank_rows: int = 0
    events: Counter = field(default_factory=Counter)
    problems: dict[str, dict[str, ReasonCount]] = field(
        default_factory=lambda: {REJECTED: {}, DROPPED: {}, WRITTEN: {}})
    notes: dict[str, Counter] = field(default_factory=dict)
    notes_overflow: Counter = field(default_factory=Counter)
    sink: TextIO | None = None  # --rejects: every problem as one JSON line

    def problem(self, row: int, p: Problem, ticket_id: str | None = None) -> None:
        rc = self.problems[p.kind].setdefault(p.reason, ReasonCount(example=p.message))
        rc.count += 1
        if len(rc.rows) < ROWS_SHOWN:
            rc.rows.append(row)
        if self.sink is not None:
            self.sink.write(json.dumps({"row": row, "kind": p.kind, "reason": p.reason, "message": p.message,
                                        "ticket_id": ticket_id}, ensure_ascii=False) + "\n")

    def reject(self, row: int, reason: str, message: str) -> None:
        self.rows_read += 1
        self.problem(row, Problem(REJECTED, reason, message))

    def add(self, row: int, conv: Converted) -> None:
        self.rows_read += 1
        if conv.events:
            self.rows_imported += 1
        for p in conv.problems:
            self.problem(row, p, conv.ticket_id)
        for what, value in conv.notes:
            seen = self.notes.setdefault(what, Counter())
            if value in seen or len(seen) < DISTINCT_KEPT:
                seen[value] += 1
            else:
                self.notes_overflow[what] += 1

    def rejected_by_reason(self) -> dict[str, int]:
        return {r: rc.count for r, rc in self.problems[REJECTED].items()}

    def as_dict(self) -> dict:
        return {
            "source": self.source, "rows_read": self.rows_read, "rows_imported": self.rows_imported,
            "rows_rejected": self.rows_read - self.rows_imported, "blank_rows": self.blank_rows,
            "events_written": sum(self.events.values()), "events": dict(self.events),
            **{kind: {r: {"count": rc.count, "rows": rc.rows, "example": rc.example} for r, rc in by.items()}
               for kind, by in self.problems.items()},
            "notes": {what: dict(c.most_common()) for what, c in self.notes.items()},
        }

    def format(self, channel: str) -> str:
        out = [f"import {self.source} ({self.detail}); header on row {self.header_row}",
               f"  columns: {self.columns}",
               f"rows read {self.rows_read:,} · imported {self.rows_imported:,} · "
               f"rejected {self.rows_read - self.rows_imported:,}"
               + (f" · blank {self.blank_rows:,}" if self.blank_rows else ""),
               f"events written {sum(self.events.values()):,}"
               + (": " + ", ".join(f"{k} {n:,}" for k, n in self.events.most_common()) if self.events else "")]
        for kind in (REJECTED, DROPPED, WRITTEN):
            by = self.problems[kind]
            if not by:
                continue
            out.append(f"{KIND_TITLES[kind]}:")
            for reason, rc in sorted(by.items(), key=lambda kv: -kv[1].count):
                more = ", …" if rc.count > len(rc.rows) else ""
                out.append(f"  {reason} {rc.count:,} (rows {', '.join(map(str, rc.rows))}{more}) e.g. {rc.example}")
        for what, seen in self.notes.items():
            title = NOTE_TITLES[what].format(channel=channel)
            if what in ("channel_defaulted", "content_from_title"):
                out.append(f"note: {title}: {sum(seen.values()):,}")
                continue
            top = ", ".join(f"{value} {n:,}" for value, n in seen.most_common(8))
            extra = len(seen) - 8 + (1 if self.notes_overflow[what] else 0)
            out.append(f"note: {title}: {top}" + (f" and {extra} more values" if extra > 0 else ""))
        return "\n".join(out)

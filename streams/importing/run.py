"""A table of rows -> contract event records (bytes), in event-time order as far as memory allows.

Rows become events one at a time. Follow-up events (replied, evaluated, withdrawn) wait in a heap
until a later row's received time passes them, so an export sorted by received time comes out in
event-time order, as a live feed would have produced it; the live windows then keep their history
(a reply dated a year ahead, written right after its ticket, would make every later ticket "late").
At most MAX_PENDING events wait; beyond that the earliest is written out, so memory stays bounded
even for an export sorted newest first (whose events then come out in file order).
"""
from __future__ import annotations

import heapq
from itertools import chain
from typing import Callable, Iterator

import orjson

from streams.importing.columns import fold, recognise, recognised
from streams.importing.readers import Row, Table
from streams.importing.rows import Options, convert
from streams.importing.tally import Tally
from streams.importing.values import blank

HEADER_SCAN = 20  # title rows above the header ("东莞市12345工单导出 2024年6月") are skipped
MAX_PENDING = 50_000  # follow-up events held back for ordering: ≈ 300 bytes each, ≤ ~20 MB
PROGRESS_EVERY = 2000


def find_header(rows: Iterator[Row], overrides: dict[str, str], fixed: bool) -> tuple[Row, list[Row], list[Row]]:
    """-> (header row, rows above it, rows read past it that are data). The header is the first
    row with two or more known headers among the first HEADER_SCAN rows, else the first row with
    any content (recognise() then names its headers in the error)."""
    seen: list[Row] = []
    for row in rows:
        if fixed and row.number == 0:  # JSON lines: the keys of the first object; errors before it are rows
            return row, [], seen
        if not fixed and row.error is None and not all(blank(c) for c in row.values):
            known = recognised(row.values) + sum(fold(c) in overrides for c in row.values if c is not None)
            if known >= 2:
                return row, seen, []
        seen.append(row)
        if len(seen) >= HEADER_SCAN:
            break
    content = [r for r in seen if r.error is None and not all(blank(c) for c in r.values)]
    if fixed or not content:
        raise ValueError("the file has no header row (no rows, only blank ones, or no JSON object in its first lines)")
    first = content[0]
    i = seen.index(first)
    return first, seen[:i], seen[i + 1:]


def import_events(table: Table, overrides: dict[str, str], opt: Options, tally: Tally,
                  progress: Callable[[], None] | None = None) -> Iterator[bytes]:
    """Raises ValueError before the first record when the header lacks a required column."""
    header, above, buffered = find_header(table.rows, overrides, table.fixed_header)
    cmap = recognise(header.values, overrides)
    tally.header_row, tally.columns = header.number, cmap.describe()
    if above:
        tally.detail += f"; {len(above)} row(s) above the header skipped"  # appended to the table's detail
    width = len(cmap.headers)
    pending: list[tuple[int, int, str, bytes]] = []  # (event time, sequence, event, record)
    seq = 0

    def emit(kind: str, rec: bytes) -> bytes:
        tally.events[kind] += 1
        return rec

    for n, row in enumerate(chain(buffered, table.rows), start=1):
        if progress is not None and n % PROGRESS_EVERY == 0:
            progress()
        if row.error is not None:
            tally.reject(row.number, *row.error)
            continue
        values = row.values
        if all(blank(c) for c in values):
            tally.blank_rows += 1
            continue
        if table.kind == "csv" and len(values) > width and any(not blank(c) for c in values[width:]):
            tally.reject(row.number, "misaligned_row", f"{len(values)} cells under a header of {width}: "
                                                       "an unquoted delimiter inside a text?")
            continue
        cells = {f: (values[i] if i < len(values) else None) for f, i in cmap.columns.items()}
        conv = convert(cells, opt)
        tally.add(row.number, conv)
        if not conv.events:
            continue
        if opt.snapshot:
            yield emit("snapshot", orjson.dumps(conv.events[0][1]))
            continue
        (created_at, created), follow = conv.events[0], conv.events[1:]
        while pending and pending[0][0] <= created_at:
            ts, _, kind, rec = heapq.heappop(pending)
            yield emit(kind, rec)
        yield emit("created", orjson.dumps(created))
        for ts, rec in follow:
            seq += 1
            # orjson returns its 4 KiB working buffer as the bytes object (measured: 4,097 bytes
            # allocated for a 158-byte record); an exact copy makes a held event cost ~300 bytes.
            heapq.heappush(pending, (ts, seq, rec["event"], bytes(memoryview(orjson.dumps(rec)))))
        while len(pending) > MAX_PENDING:
            ts, _, kind, rec = heapq.heappop(pending)
            yield emit(kind, rec)
    while pending:
        ts, _, kind, rec = heapq.heappop(pending)
        yield emit(kind, rec)
    if progress is not None:
        progress()

"""Files of a platform export -> rows of cells, streamed: .xlsx, .csv/.tsv/.txt, JSON lines.

Nothing here holds more than one row (plus a 256 KB sample to choose the encoding and the
delimiter), so a million-row export reads in constant memory: `hotline import` of 1,000,000 CSV
rows peaks at 36 MB RSS, as for 200,000 (bench/import_memory.py). An .xlsx keeps openpyxl's
shared-string table too (read-only mode).

Encodings: a BOM decides (UTF-8, UTF-16: Excel's 'Unicode text'); otherwise the first 256 KB must
decode as UTF-8, else as GB18030 (the superset of GBK, which Chinese Excel writes for 'CSV'). When
the sample is plain ASCII the choice waits for the first line that is not. Each line is decoded
alone, so a line with bytes the encoding cannot read costs its row (reported), not the file.
"""
from __future__ import annotations

import codecs
import csv
import io
import json
import os
from collections import Counter
from dataclasses import dataclass, field
from typing import BinaryIO, Iterable, Iterator

SAMPLE_BYTES = 256 * 1024
DELIMITERS = (",", "\t", ";", "|")
DELIMITER_NAMES = {",": "comma", "\t": "tab", ";": "semicolon", "|": "pipe"}


@dataclass(slots=True)
class Row:
    number: int  # as a spreadsheet shows it (header = row 1), or the line number of a JSON-lines file
    values: list
    error: tuple[str, str] | None = None  # (reason, message) when the row cannot be read at all


@dataclass
class Table:
    kind: str  # xlsx | csv | jsonl
    detail: str  # what was detected, for the summary
    total: int | None  # progress total, in `unit`
    unit: str
    rows: Iterator[Row]
    fixed_header: bool = False  # JSON lines: the first row is the keys of the first object
    position: list[int] = field(default_factory=lambda: [0])  # progress so far, in `unit`


def open_table(path: str, sheet: str | None = None, encoding: str | None = None) -> Table:
    """Open an export by its extension (and an .xlsx by its content). Raises ValueError or
    FileNotFoundError with a message for the analyst when the file cannot be read at all."""
    if not os.path.isfile(path):
        raise FileNotFoundError(f"no such file: {path}")
    ext = os.path.splitext(path)[1].lower()
    with open(path, "rb") as fh:
        magic = fh.read(8)
    if ext == ".xls" or magic.startswith(b"\xd0\xcf\x11\xe0"):
        raise ValueError(f"{path} is an old binary Excel file (.xls); save it as .xlsx or .csv and import that")
    if ext in (".xlsx", ".xlsm") or magic.startswith(b"PK\x03\x04"):
        return _xlsx(path, sheet)
    if sheet:
        raise ValueError("--sheet applies to .xlsx files only")
    if ext in (".jsonl", ".ndjson", ".json"):
        return _jsonl(path, encoding)
    if ext in (".csv", ".tsv", ".txt", ""):
        return _csv(path, encoding, prefer_tab=ext in (".tsv", ".txt"))
    raise ValueError(f"cannot import {ext} files: use .xlsx, .csv, .tsv or .jsonl")


# --- xlsx (100,000 rows: 63 MB peak RSS, ~1,800 rows/s; bench/import_memory.py) ---------------

def _xlsx(path: str, sheet: str | None) -> Table:
    import zipfile

    from openpyxl import load_workbook

    try:
        wb = load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError) as exc:
        raise ValueError(f"{path} is not a readable .xlsx file: {exc}") from None
    names = wb.sheetnames
    if sheet is not None and sheet not in names:
        wb.close()
        raise ValueError(f"no sheet {sheet!r} in {path}; its sheets are: {', '.join(names)}")
    ws = wb[sheet] if sheet is not None else wb.worksheets[0]
    detail = f"sheet {ws.title}"
    if len(names) > 1 and sheet is None:
        detail += f" (of {', '.join(names)}; choose with --sheet)"
    total = ws.max_row if isinstance(ws.max_row, int) and ws.max_row > 1 else None
    table = Table("xlsx", detail, total, "row", iter(()))

    def rows() -> Iterator[Row]:
        try:
            # Read-only mode yields gaps as empty rows, so the count is the sheet's row number.
            for number, values in enumerate(ws.iter_rows(values_only=True), start=1):
                table.position[0] = number
                yield Row(number, list(values))
        finally:
            wb.close()

    table.rows = rows()
    return table


# --- text files -------------------------------------------------------------------------------

class LineDecoder:
    """Decodes one line at a time; returns (text, ok). A line that does not decode comes back with
    U+FFFD in place of the bad bytes and ok=False, so the row can be reported."""

    def __init__(self, encoding: str | None):
        self.encoding = encoding

    def __call__(self, line: bytes) -> tuple[str, bool]:
        if self.encoding is None:
            if line.isascii():
                return line.decode("ascii"), True
            self.encoding = _guess(line)
            if self.encoding is None:
                return line.decode("utf-8", "replace"), False
        try:
            return line.decode(self.encoding), True
        except UnicodeDecodeError:
            return line.decode(self.encoding, "replace"), False


def _guess(sample: bytes) -> str | None:
    """UTF-8 or GB18030: the one that decodes more of the sample's non-ASCII lines (a cut-off last
    character allowed), UTF-8 on a tie; None when neither decodes any. Counting lines, not the
    whole sample, keeps one corrupt line from deciding the file's encoding."""
    lines = [ln for ln in sample.splitlines() if not ln.isascii()]
    best, best_ok = None, 0
    for name in ("utf-8", "gb18030"):
        ok = 0
        for ln in lines:
            try:
                codecs.getincrementaldecoder(name)().decode(ln, final=False)
                ok += 1
            except UnicodeDecodeError:
                pass
        if ok > best_ok:
            best, best_ok = name, ok
    return best


def _open_text(path: str, encoding: str | None) -> tuple[BinaryIO, str | None, str, bool]:
    """-> (binary file positioned after any BOM, encoding or None while undecided, label, utf16)."""
    if encoding is not None:
        try:
            encoding = codecs.lookup(encoding).name
        except LookupError:
            raise ValueError(f"unknown encoding {encoding!r} (try utf-8, gb18030, utf-16)") from None
    fh = open(path, "rb")
    head = fh.read(SAMPLE_BYTES)
    bom = 0
    if encoding is None:
        if head.startswith(codecs.BOM_UTF8):
            encoding, bom = "utf-8", 3
        elif head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            encoding = "utf-16"
        elif not head.isascii():
            encoding = _guess(head)
            if encoding is None:
                fh.close()
                raise ValueError(f"{path}: the first {SAMPLE_BYTES // 1024} KB are neither UTF-8 nor GB18030; "
                                 "name the encoding with --encoding")
    elif encoding == "utf-8" and head.startswith(codecs.BOM_UTF8):
        bom = 3
    fh.seek(bom)
    utf16 = encoding is not None and encoding.startswith("utf-16")
    label = (encoding or "ascii so far").upper() + (" with BOM" if bom else "")
    return fh, encoding, label, utf16


def _lines(fh: BinaryIO, decode: LineDecoder, utf16: bool, position: list[int]) -> Iterator[tuple[str, bool]]:
    encoding = decode.encoding
    if utf16:
        # Line splitting on bytes does not work for UTF-16; a bad byte there ends the file with an error.
        text = io.TextIOWrapper(fh, encoding=encoding, newline="")
        try:
            for line in text:
                position[0] += len(line) * 2
                yield line, True
        except UnicodeDecodeError as exc:
            raise ValueError(f"the UTF-16 file has undecodable bytes ({exc.reason}); fix or re-export it") from None
        return
    for raw in fh:  # b"\n" never occurs inside a UTF-8 or GB18030 character, so splitting bytes is safe
        position[0] += len(raw)
        yield decode(raw)


def sniff_delimiter(sample: str, prefer_tab: bool = False) -> str:
    """The delimiter that splits the sample's records most consistently into the most fields.

    Quote-aware (csv.reader per candidate) where csv.Sniffer counts characters per line and is
    misled by quoted multi-line complaint texts. A title row above the header only lowers every
    candidate's consistency alike.
    """
    lines = sample.splitlines(keepends=True)
    if len(lines) > 1:
        lines = lines[:-1]  # the sample may end mid-record
    best, best_score = ("\t" if prefer_tab else ","), (0.0, 0, 0)
    for rank, d in enumerate(sorted(DELIMITERS, key=lambda x: (x != "\t") if prefer_tab else 0)):
        try:
            widths = [len(r) for r in csv.reader(lines, delimiter=d, quotechar='"') if any(c.strip() for c in r)]
        except csv.Error:
            continue
        if not widths:
            continue
        width, count = Counter(widths).most_common(1)[0]
        if width < 2:
            continue
        score = (count / len(widths), width, -rank)
        if score > best_score:
            best, best_score = d, score
    return best


def _named(decoder: LineDecoder) -> str:
    return decoder.encoding.upper() if decoder.encoding else "UTF-8 or GB18030"


def _settle(table: Table, decoder: LineDecoder, sampled: str | None) -> None:
    """A file whose sample was plain ASCII: name the encoding its later lines were read with."""
    if sampled is None:
        table.detail = table.detail.replace("ASCII SO FAR", (decoder.encoding or "ascii").upper(), 1)


def _csv(path: str, encoding: str | None, prefer_tab: bool) -> Table:
    fh, enc, label, utf16 = _open_text(path, encoding)
    size = os.path.getsize(path)
    sample_bytes = fh.read(SAMPLE_BYTES)
    fh.seek(fh.tell() - len(sample_bytes))
    if utf16:
        sample = sample_bytes.decode(enc, "replace")
    else:
        decode = LineDecoder(enc)
        sample = "".join(decode(line)[0] for line in sample_bytes.splitlines(keepends=True))
    delimiter = sniff_delimiter(sample, prefer_tab)
    table = Table("csv", f"{label}, {DELIMITER_NAMES[delimiter]}-separated", size, "B", iter(()))
    decoder = LineDecoder(enc)

    def rows() -> Iterator[Row]:
        bad_lines: set[int] = set()
        counter = [0]

        def tracked(lines: Iterable[tuple[str, bool]]) -> Iterator[str]:
            for text, ok in lines:
                counter[0] += 1
                if not ok:
                    bad_lines.add(counter[0])
                yield text

        try:
            reader = csv.reader(tracked(_lines(fh, decoder, utf16, table.position)), delimiter=delimiter, quotechar='"')
            number, last_line = 0, 0
            while True:
                try:
                    values = next(reader)
                except StopIteration:
                    break
                except csv.Error as exc:
                    number += 1
                    yield Row(number, [], ("unreadable_row", f"CSV error on line {reader.line_num}: {exc}"))
                    last_line = reader.line_num
                    continue
                number += 1
                span = range(last_line + 1, reader.line_num + 1)
                last_line = reader.line_num
                if bad_lines and any(n in bad_lines for n in span):
                    bad_lines.difference_update(span)
                    yield Row(number, values, ("undecodable", f"bytes that are not {_named(decoder)} "
                                                              f"(line {span.start}); re-export or pass --encoding"))
                    continue
                yield Row(number, values)
        finally:
            fh.close()
            _settle(table, decoder, enc)

    table.rows = rows()
    return table


def _jsonl(path: str, encoding: str | None) -> Table:
    fh, enc, label, utf16 = _open_text(path, encoding)
    table = Table("jsonl", label, os.path.getsize(path), "B", iter(()), fixed_header=True)
    decoder = LineDecoder(enc)

    def rows() -> Iterator[Row]:
        keys: list[str] | None = None
        try:
            for number, (text, ok) in enumerate(_lines(fh, decoder, utf16, table.position), start=1):
                if not text.strip():
                    continue
                if not ok:
                    yield Row(number, [], ("undecodable", f"bytes that are not {_named(decoder)}"))
                    continue
                try:
                    doc = json.loads(text)
                except ValueError as exc:
                    yield Row(number, [], ("invalid_json", f"not JSON: {str(exc)[:80]}"))
                    continue
                if not isinstance(doc, dict):
                    yield Row(number, [], ("invalid_json", f"a JSON {type(doc).__name__}, not an object"))
                    continue
                if keys is None:
                    keys = list(doc)
                    yield Row(0, list(keys))
                yield Row(number, [doc.get(k) for k in keys])
        finally:
            fh.close()
            _settle(table, decoder, enc)

    table.rows = rows()
    return table

"""Real data: tipdm2020's 2,816 messages with their official replies, written back to an .xlsx and a
GB18030 .csv under the platform's original headers, imported, and reported: every message is a
ticket and every reply is counted. Skips where ../shared is absent."""
from __future__ import annotations

import csv
import json
import re
from datetime import datetime

import pytest

from streams.core.cleaning import CleanEvent, clean
from streams.commands.cli import main
from streams.core.pipeline import Processor
from streams.commands.report import build_report
from streams.text.items import load_classifier

pytestmark = pytest.mark.shared

HEADERS = ["留言编号", "留言用户", "留言主题", "留言时间", "留言详情", "答复意见", "答复时间"]
FIELDS = ["id", "user", "title", "created_at", "content", "reply", "replied_at"]


def _messages(shared_dir) -> list[dict]:
    with open(shared_dir / "messages_with_replies.jsonl", encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def _as_platform(value: str | int, field: str):
    """Times as the platform shows them; the one reply time that has a date only keeps only its date."""
    if field in ("created_at", "replied_at"):
        return value[:10] if value.endswith(" 00:00:00") else value
    return value


@pytest.fixture(scope="module")
def messages(shared_dir):
    return _messages(shared_dir)


@pytest.fixture(scope="module")
def exports(tmp_path_factory, messages):
    from openpyxl import Workbook
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    d = tmp_path_factory.mktemp("tipdm_export")
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("留言")
    ws.append(HEADERS)
    for m in messages:
        row = []
        for f in FIELDS:
            value = _as_platform(m[f], f)
            if f in ("created_at", "replied_at"):  # Excel exports carry typed date cells
                value = (datetime.strptime(value, "%Y-%m-%d %H:%M:%S") if len(value) > 10
                         else datetime.strptime(value, "%Y-%m-%d").date())
            elif isinstance(value, str):
                value = ILLEGAL_CHARACTERS_RE.sub("", value)  # what openpyxl itself cannot store
            row.append(value)
        ws.append(row)
    wb.save(d / "messages.xlsx")
    with open(d / "messages.csv", "w", encoding="gb18030", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(HEADERS)
        for m in messages:
            w.writerow([_as_platform(m[f], f) for f in FIELDS])
    return d


@pytest.mark.parametrize("name", ["messages.xlsx", "messages.csv"])
def test_the_report_counts_every_message_and_every_reply(exports, messages, name, capsys):
    events = exports / f"{name}.events.jsonl"
    assert main(["import", str(exports / name), "-o", str(events), "--channel", "网站"]) == 0
    summary = capsys.readouterr().err
    n = len(messages)
    assert f"rows read {n:,} · imported {n:,} · rejected 0" in summary
    assert f"created {n:,}, replied {n:,}" in summary
    if name.endswith(".csv"):  # in an .xlsx a date cell is a midnight date-time, as Excel stores it
        assert "times with a date only, read as 00:00 Asia/Shanghai: replied_at 1" in summary

    lines = events.read_bytes().splitlines()
    assert len(lines) == 2 * n
    for line in lines:
        assert isinstance(clean(line, "k"), CleanEvent)
    docs = [json.loads(line) for line in lines]
    texts = " ".join(d.get("content", "") + d.get("reply", "") for d in docs)
    assert "_x000D_" not in texts and "\r" not in texts

    rep = build_report(str(events), Processor("k", load_classifier(None), repeat_rules=None))
    assert rep["tickets"] == n and rep["replied"] == n
    assert rep["rejected"] == 0 and rep["by_channel"]["网站"]["tickets"] == n
    # Texts and times arrive intact: the first message's reply and its response time.
    first = messages[0]
    created = next(d for d in docs if d["event"] == "created" and d["ticket_id"] == str(first["id"]))
    assert created["title"] == first["title"].strip() and created["caller"] == first["user"]
    assert re.sub(r"\s+", "", created["content"]) == re.sub(r"\s+", "", first["content"].replace("_x000D_", ""))


@pytest.mark.integration
def test_imported_into_kafka_the_live_counters_equal_the_report(exports, messages, settings, tmp_path):
    """The same export, once produced into the raw topic and counted by a worker, once reported from
    the JSONL file: every figure agrees."""
    from schemas.taxonomy import load_taxonomy
    from streams.adapters.kafka import ensure_topics
    from streams.commands.snapshot import take_snapshot
    from streams.adapters.store import CounterStore, connect
    from tests.support import count_records, hotline, hotline_json, live_vs_batch, start_worker, wait_for_records

    events = tmp_path / "events.jsonl"
    hotline(["import", str(exports / "messages.xlsx"), "-o", str(events), "--channel", "网站", "--no-progress"],
            settings)
    ensure_topics(settings)
    store = CounterStore(connect(settings.redis_url), settings.namespace, load_taxonomy())
    worker = start_worker(settings)
    try:
        res = hotline(["import", str(exports / "messages.xlsx"), "--to-kafka", "--channel", "网站", "--no-progress"],
                      settings)
        assert f"rows read {len(messages):,}" in res.stderr.decode()
        wait_for_records(store, count_records(events), workers=[worker])
    finally:
        worker.stop()
    batch = hotline_json(["report", str(events), "--json"], settings)
    live = take_snapshot(store, "all", "event")
    assert batch["tickets"] == len(messages) and batch["replied"] == len(messages)
    assert live_vs_batch(batch, live) == []

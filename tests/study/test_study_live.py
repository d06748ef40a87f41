"""`hotline study --live` on a real Redis: the counters' figures, and the page says what the counters lack."""
from __future__ import annotations

import re

import pytest

from schemas.taxonomy import load_taxonomy
from streams.commands.cli import main
from streams.adapters.store import CounterStore, connect
from streams.study import figures as F
from tests.study.events import EVENTS, processor

pytestmark = pytest.mark.integration

COMPARED = ("tickets", "off_hours", "replied", "reply_types", "evaluated", "satisfaction_mean", "withdrawn", "repeat",
            "response_seconds_mean", "by_item", "by_channel", "by_district", "by_rights_claim")


@pytest.fixture
def filled(redis_url, namespace, monkeypatch):
    store = CounterStore(connect(redis_url), namespace, load_taxonomy())
    store.claim_namespace()
    proc = processor()
    prep = proc.prepare(EVENTS)
    view = store.read_partition("raw:0", prep.ticket_ids, prep.group_keys)
    store.apply("raw:0", view, list(range(len(EVENTS))), proc.process(prep, view.states, groups=view.groups))
    monkeypatch.setenv("HOTLINE_REDIS_URL", redis_url)
    monkeypatch.setenv("HOTLINE_WINDOW_CLOCK", "event")
    yield store
    store.drop()


def test_live_all_window_is_the_files_study(filled, tmp_path, capsys):
    out = tmp_path / "live.html"
    assert main(["study", "--live", "--namespace", filled.ns, "--window", "all", "-o", str(out)]) == 0
    html = out.read_text(encoding="utf-8")
    from streams.commands.snapshot import take_snapshot

    live = take_snapshot(filled, "all", "event")
    batch = F.study_records(EVENTS, processor()).report
    assert {k: live[k] for k in COMPARED} == {k: batch[k] for k in COMPARED}
    assert '<div class="v">6</div>' in html and "实时快照 · 窗口 all" in html
    for sid in ("volume", "hours", "hot"):
        assert re.search(rf'<section id="{sid}" class="unavailable">', html), sid
    assert '<section id="rights">' in html and '<section id="league">' in html


def test_live_short_window_has_no_rights_breakdown(filled, tmp_path):
    out = tmp_path / "live.html"
    assert main(["study", "--live", "--namespace", filled.ns, "--window", "24h", "-o", str(out)]) == 0
    html = out.read_text(encoding="utf-8")
    assert re.search(r'<section id="rights" class="unavailable">', html)
    # the 24 hours ending at the window clock (the newest time three records agree on, see
    # streams/windows.advance_watermark) hold what the counters say
    n = filled.window("24h", filled.window_end("event")).get("all||tickets", 0)
    assert f'<div class="v">{n}</div>' in html


def test_live_rejects_a_bad_window(filled, tmp_path, capsys):
    assert main(["study", "--live", "--namespace", filled.ns, "--window", "2w", "-o", str(tmp_path / "x.html")]) == 2
    assert "window must be one of" in capsys.readouterr().err

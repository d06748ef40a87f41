"""The real pipeline under a real Prometheus: broker -> worker -> Redis -> exporter -> Prometheus.

1. After replaying generated lifecycle tickets, every Grafana panel query (variables substituted)
   parses on Prometheus AND returns data, except a short, explained list.
2. An injected repeat-complaint spike (in one item and one district, in the last hour of event
   time) raises an alert event on `<prefix>alerts` from the stream detector and the
   `HotlineRepeatSpike*` alerts in Prometheus; the same quiet background without the spike
   raises neither.

Needs Debian's prometheus (skipped when missing), plus the embedded broker and redis-server the
session fixtures start.
"""
from __future__ import annotations

import json
import re
import time
from contextlib import ExitStack
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from deploy_catalogue import RULES_DIR, dashboard_exprs, dashboards
from prometheus_server import PrometheusServer, find_prometheus, free_port
from tests.support import consume_topic

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(find_prometheus() is None, reason="prometheus not installed (Debian: apt-get install prometheus)"),
]

SHANGHAI = timezone(timedelta(hours=8))
PHONE = re.compile(rb"(?<!\d)1[3-9]\d{9}(?!\d)")

# Dashboard queries allowed to come back empty after a fresh replay (they must still parse).
# Keyed by (dashboard file, raw panel expression); keep this list minimal and explained.
MAY_BE_EMPTY = {
    ("hotline-overview.json", 'hotline:item_repeat_tickets_baseline:1h{item=~"$item"}'):
        "history baseline = avg_over_time(...[7d:30m] offset 1h): absent until Prometheus has >1h of history",
    ("hotline-overview.json",
     "hotline:district_repeat_tickets_baseline:1h and on (district) topk(10, hotline:district_repeat_tickets:1h)"):
        "same baseline: absent until Prometheus has >1h of history",
    ("hotline-overview.json", 'max by (rank) (hotline_hot_cluster_tickets{window="$window"})'):
        "PRODUCT GAP: `hotline exporter` never publishes hotline_hot_cluster_tickets (serve_forever passes no hot_reader)",
    ("hotline-overview.json", "sort_desc(max by (scope_type, scope) (hotline_repeat_spike_score))"):
        "published only after the stream detector alerted (asserted non-empty in the spike test)",
    ("hotline-overview.json", 'ALERTS{alertstate="firing", alertname=~"Hotline.*"}'):
        "nothing fires after a healthy replay (asserted non-empty in the spike test)",
    ("hotline-overview.json", "hotline:overdue_tickets offset 1d"):
        "overdue a day ago (what HotlineOverdueRising compares): absent until Prometheus has a day of history",
    ("hotline-pipeline.json", 'ALERTS{alertstate="firing", scope="pipeline"}'):
        "no pipeline alert fires while the pipeline is healthy",
}


# ---- processes ----------------------------------------------------------------------------------
class LivePrometheus(PrometheusServer):
    """PrometheusServer with a second job, `hotline-worker`, scraping the worker's Faust /metrics."""

    def __init__(self, exporter: str, worker: str | None = None, **kw):
        super().__init__(exporter, **kw)
        self.worker_target = worker

    def config_text(self) -> str:
        text = super().config_text()
        if self.worker_target:
            text += "\n".join([
                '  - job_name: "hotline-worker"',
                "    static_configs:",
                f'      - targets: ["{self.worker_target}"]',
                "        labels:",
                *[f"          {k}: {json.dumps(v)}" for k, v in sorted(self.labels.items())],
            ]) + "\n"
        return text


def compressed_rules(dest: Path) -> list[Path]:
    """The project's rules with Prometheus-history time compressed, so the history-based spike
    rules can be exercised in seconds: baseline subquery [7d:30m] offset 1h -> [10m:1s] offset 5s,
    and every `for:` -> 2s. Used by a second Prometheus only; the verbatim rules run alongside."""
    dest.mkdir(parents=True, exist_ok=True)
    out = []
    for src in sorted(RULES_DIR.glob("*.yml")):
        text = src.read_text(encoding="utf-8")
        text = text.replace("[7d:30m] offset 1h", "[10m:1s] offset 5s")
        text = re.sub(r"(?m)^(\s+)for:\s*\S+\s*$", r"\1for: 2s", text)
        p = dest / f"compressed-{src.name}"
        p.write_text(text, encoding="utf-8")
        out.append(p)
    assert "[10m:1s] offset 5s" in (dest / "compressed-recording.yml").read_text(encoding="utf-8")
    return out


class Stack:
    """Worker (with its Faust web port) + exporter for one namespace, and the Prometheus(es) scraping them."""

    def __init__(self, settings, stack: ExitStack, name: str, compressed: list[Path] | None = None):
        from schemas.taxonomy import load_taxonomy
        from streams.adapters.embedded import wait_port
        from streams.adapters.kafka import ensure_topics
        from streams.adapters.store import CounterStore, connect
        from tests.support import start_exporter, start_worker

        self.settings = settings.with_(exporter_addr=f"127.0.0.1:{free_port()}")
        self.name = name
        ensure_topics(self.settings)
        self.store = CounterStore(connect(self.settings.redis_url), self.settings.namespace, load_taxonomy())
        self.web_port = free_port()
        env = {"HOTLINE_WINDOW_CLOCK": "event", "HOTLINE_SPIKE_INTERVAL": "1"}
        self.worker = start_worker(self.settings, name=f"{name}-worker", HOTLINE_WORKER_WEB_PORT=self.web_port, **env)
        stack.callback(self.worker.stop)
        self.exporter = start_exporter(self.settings, **env)
        stack.callback(self.exporter.stop)
        wait_port(self.settings.exporter_host_port[1], 30, self.exporter.p, "exporter")
        wait_port(self.web_port, 60, self.worker.p, "worker web")
        self.prom = stack.enter_context(LivePrometheus(self.settings.exporter_addr, f"127.0.0.1:{self.web_port}"))
        # Optionally a second Prometheus on the same targets with time-compressed rules.
        self.fast = None if compressed is None else stack.enter_context(
            LivePrometheus(self.settings.exporter_addr, f"127.0.0.1:{self.web_port}", rule_files=compressed))
        self.procs = [self.worker, self.exporter]

    def logs(self) -> str:
        out = "\n".join(f"--- {p.name}\n{p.output()}" for p in self.procs) + f"\n--- prometheus\n{self.prom.log()}"
        return out + (f"\n--- prometheus (compressed rules)\n{self.fast.log()}" if self.fast else "")

    def wait_counted(self, n: int, timeout: float = 120) -> None:
        from tests.support import wait_for_records

        wait_for_records(self.store, n, timeout=timeout, workers=self.procs)
        # ... and Prometheus has scraped that, and recorded rules on it.
        self.prom.wait_for(f'sum(max without (instance) (hotline_events_total)) >= {n}', timeout=90)


def replay_lines(settings, lines: list[bytes]) -> None:
    from streams.adapters.kafka import replay

    replay(lines, settings, speed=0, progress=False)


def parse(lines: list[bytes]) -> list[dict]:
    return [json.loads(line) for line in lines]


def ts(text: str) -> float:
    return datetime.fromisoformat(text).timestamp()


# ---- 1. dashboards --------------------------------------------------------------------------------
def dashboard_sample(path: Path) -> tuple[list[bytes], str]:
    """~3,000 generated lifecycle tickets, cut just after the last `created` event whose item also
    had an evaluation and whose preceding 24 h hold replies and other tickets: with the event clock,
    the windows 1h and 24h then hold data, for that item too (it becomes `$item`)."""
    from tests.support import generate

    generate(path, 3000, seed=11, mode="lifecycle")
    lines = [line for line in path.read_bytes().splitlines() if line.strip()]
    recs = parse(lines)
    times = [ts(r["event_time"]) for r in recs]
    assert times == sorted(times), "the generator writes records in event-time order"
    item_of = {r["ticket_id"]: r.get("category") for r in recs if r["event"] == "created"}
    for i in range(len(recs) - 1, 0, -1):
        item = recs[i].get("category")
        if recs[i]["event"] != "created" or not item:
            continue
        day = [r for r, t in zip(recs[:i], times[:i]) if t > times[i] - 86400 + 600]
        events = [r["event"] for r in day]
        if ("replied" in events and events.count("created") >= 3
                and any(r["event"] == "evaluated" and item_of.get(r["ticket_id"]) == item for r in day)):
            return lines[: i + 1], item
    raise AssertionError("no usable cut point in the generated sample")


def substitute(expr: str, window: str, item: str) -> str:
    values = {"window": window, "item": re.escape(item), "__rate_interval": "1m", "__interval": "15s",
              "__range": "1h", "__range_s": "3600"}
    return re.sub(r"\$\{?(\w+)\}?", lambda m: values.get(m.group(1), m.group(0)), expr)


def test_every_dashboard_query_returns_data_after_a_replay(settings, tmp_path):
    lines, item = dashboard_sample(tmp_path / "lifecycle.jsonl")
    with ExitStack() as stack:
        live = Stack(settings, stack, "dash")
        prom = live.prom
        prom.wait_for('up{job="hotline-exporter"} == 1', timeout=90)
        prom.wait_for('up{job="hotline-worker"} == 1', timeout=90)
        # A couple of scrapes before the data: counters start from a sample, rates have a base.
        prom.wait_scrapes(2)
        replay_lines(live.settings, lines)
        live.wait_counted(len(lines))
        prom.wait_scrapes(2)  # a few more scrapes and rule evaluations

        # `$item`: an item with tickets in the last hour and evaluations in the last 24 h.
        assert prom.query(f'hotline:item_tickets:1h{{item="{item}"}} > 0'), item

        problems, allowed_empty, checked = [], [], 0
        stale = set(MAY_BE_EMPTY) - {(n, raw) for n, d in dashboards().items() for _, raw in dashboard_exprs(d)}
        assert not stale, f"MAY_BE_EMPTY names expressions no dashboard has any more: {stale}"
        for dash_name, dash in sorted(dashboards().items()):
            for where, raw in dashboard_exprs(dash):
                windows = ("24h", "all") if "$window" in raw or "${window}" in raw else ("24h",)
                for window in windows:
                    expr = substitute(raw, window, item)
                    assert "$" not in expr, f"unsubstituted variable in {expr!r}"
                    checked += 1
                    try:
                        result = prom.query(expr)
                    except Exception as exc:  # PrometheusError: did not parse / failed
                        problems.append(f"{dash_name} {where} [{window}] {expr!r}: {exc}")
                        continue
                    if result:
                        continue
                    reason = MAY_BE_EMPTY.get((dash_name, raw))
                    if reason:
                        allowed_empty.append(f"{dash_name} {where}: {reason}")
                    else:
                        problems.append(f"{dash_name} {where} [window={window}, item={item}] {expr!r}: no data")
        print(f"{checked} dashboard queries evaluated; allowed empty:\n  " + "\n  ".join(sorted(set(allowed_empty))))
        assert checked > 40
        assert not problems, "\n".join(problems) + "\n" + live.logs()

        # The worker job answers (`Workers up` panels) with Faust's sensors under the documented prefix.
        names = {r["metric"]["__name__"] for r in prom.query('{job="hotline-worker", __name__=~"hotline_worker_.+"}')}
        assert names, "the worker's /metrics carries no hotline_worker_* series"
        # No rule is broken on real data.
        errors = [f"{g['name']}/{r['name']}: {r.get('lastError')}" for g in prom.rule_groups() for r in g["rules"]
                  if r.get("health") == "err"]
        assert not errors, "\n".join(errors)


# ---- 2. spikes -----------------------------------------------------------------------------------
BACKGROUND_FROM = datetime(2024, 6, 1, tzinfo=SHANGHAI)
BACKGROUND_TO = datetime(2024, 6, 11, tzinfo=SHANGHAI)  # exclusive; the spike follows at 00:05-00:40
SPIKE_ITEM, SPIKE_SUB, SPIKE_DISTRICT = "水电气供应", "停水", "长安镇"
SPIKE_TICKETS = 36
QUIET_S = 10  # seconds of scraped background before the spike (history for the compressed rules)


def created(tid: str, at: datetime, caller: str, content: str, repeat_of: str | None = None, **fields) -> bytes:
    t = at.isoformat()
    rec = {"ticket_id": tid, "event": "created", "event_time": t, "received_at": t, "channel": "电话",
           "category": SPIKE_ITEM, "subcategory": SPIKE_SUB, "district": SPIKE_DISTRICT,
           "department": "东莞市长安镇人民政府", "caller": caller, "title": "反映长安镇停水问题",
           "content": content, "repeat_of": repeat_of, **fields}
    return json.dumps(rec, ensure_ascii=False).encode()


def background(path: Path) -> list[bytes]:
    """Generated lifecycle tickets created in a 10-day range of 2024 (with their later events up to
    the range's end), plus three ordinary tickets in the spike's item and district in the last hour,
    so that scope already has (quiet) series when the spike comes."""
    from tests.support import generate

    generate(path, 20_000, seed=23, mode="lifecycle")
    lo, hi = BACKGROUND_FROM.timestamp(), BACKGROUND_TO.timestamp()
    keep, ids = [], set()
    for line in path.read_bytes().splitlines():
        if not line.strip():
            continue
        r = json.loads(line)
        t = ts(r["event_time"])
        if r["event"] == "created" and lo <= t < hi:
            ids.add(r["ticket_id"])
        if r["ticket_id"] in ids and t < hi:
            keep.append((t, line))
    texts = ["长安镇霄边社区路灯坏了一个星期，晚上很黑，请尽快维修。", "长安镇锦厦社区水压不足，高层住户早上用不了水。",
             "长安镇上沙社区自来水发黄，有异味，请检测水质。"]
    for i, minute in enumerate((10, 30, 50)):
        at = BACKGROUND_TO - timedelta(minutes=60 - minute)
        keep.append((at.timestamp(), created(f"BG2024{i:04d}", at, f"136{51000000 + 313 * i:08d}", texts[i])))
    keep.sort(key=lambda p: p[0])
    return [line for _, line in keep]


def spike(background_lines: list[bytes]) -> tuple[list[bytes], list[str], list[str]]:
    """SPIKE_TICKETS `created` repeat complaints (repeat_of -> earlier tickets), one item, one
    district, distinct callers, all inside the clock hour after the background (so none of them
    lands in the detector's baseline hours)."""
    recs = [r for r in parse(background_lines) if r["event"] == "created"]
    earlier = [r["ticket_id"] for r in recs if r.get("district") == SPIKE_DISTRICT] or [r["ticket_id"] for r in recs]
    lines, ids, callers = [], [], []
    for i in range(SPIKE_TICKETS):
        tid, caller = f"SPIKE2024{i:04d}", f"139{27000000 + 7919 * i:08d}"
        content = f"长安镇新安社区从昨天开始停水，到现在还没有恢复，之前已经反映过，联系电话{caller}。"
        lines.append(created(tid, BACKGROUND_TO + timedelta(minutes=5, seconds=55 * i), caller, content,
                             repeat_of=earlier[i % len(earlier)]))
        ids.append(tid)
        callers.append(caller)
    return lines, ids, callers


SPIKE_ALERTS = 'ALERTS{alertname=~"HotlineRepeatSpike.*"}'
RISING_ALERTS = 'ALERTS{alertname=~"Hotline(Item|District)Rising"}'
RISING_FIRING = 'ALERTS{alertname=~"Hotline(Item|District)Rising", alertstate="firing"}'


def ever(prom, expr: str, seconds: int = 600) -> list[dict]:
    """Series of `expr` that had any sample in the last `seconds` (catches transient pending/firing)."""
    return prom.query(f"max_over_time({expr}[{seconds}s])")


def test_injected_spike_alerts_in_the_stream_and_in_prometheus_and_the_quiet_background_does_not(settings, tmp_path):
    bg = background(tmp_path / "background.jsonl")
    spike_lines, spike_ids, spike_callers = spike(bg)
    assert len(bg) >= 500, f"background too thin: {len(bg)} records"
    assert ts(json.loads(bg[-1])["event_time"]) < ts(json.loads(spike_lines[0])["event_time"])
    assert BACKGROUND_TO + timedelta(hours=1) > datetime.fromisoformat(json.loads(spike_lines[-1])["event_time"])

    rules = compressed_rules(tmp_path / "rules")
    quiet_settings = settings.with_(namespace=settings.namespace + "q", topic_prefix=settings.namespace + "q.")
    with ExitStack() as stack:
        hot = Stack(settings, stack, "spike", compressed=rules)
        quiet = Stack(quiet_settings, stack, "quiet", compressed=rules)
        proms = (hot.prom, hot.fast, quiet.prom, quiet.fast)
        for prom in proms:
            prom.wait_for('up{job="hotline-exporter"} == 1', timeout=90)
            # The detector counter is published at 0 from the start, so its first increment is seen.
            prom.wait_for('count(hotline_repeat_spike_alerts_total == 0) == 2', timeout=90)

        # The same quiet background into both namespaces, then quiet time with Prometheus scraping.
        replay_lines(hot.settings, bg)
        replay_lines(quiet.settings, bg)
        hot.wait_counted(len(bg))
        quiet.wait_counted(len(bg))
        t_quiet = time.monotonic()
        time.sleep(QUIET_S)
        for stack_ in (hot, quiet):
            assert stack_.store.r.hgetall(stack_.store.k("alerts")) == {}, "the background alone raised detector alerts"
        assert hot.prom.query(f'hotline:item_repeat_tickets:1h{{item="{SPIKE_ITEM}"}}'), "spike scope has no quiet history"
        for prom in proms:
            assert not ever(prom, SPIKE_ALERTS), "the background alone raised spike alerts"

        # The spike, into the spike namespace only.
        t_spike = time.monotonic()
        replay_lines(hot.settings, spike_lines)
        hot.wait_counted(len(bg) + len(spike_lines))

        # (a) The stream detector: alert events on <prefix>alerts for the item and the district.
        msgs = consume_topic(hot.settings, hot.settings.alerts_topic, timeout=30, want=2)
        assert msgs, f"no alert event on {hot.settings.alerts_topic}\n{hot.logs()}"
        for m in msgs:
            assert not PHONE.search(m.value) and not PHONE.search(m.key or b""), f"phone number in an alert: {m.value!r}"
            assert not any(c.encode() in m.value for c in spike_callers)
        events = [json.loads(m.value) for m in msgs]
        assert {(e["scope_type"], e["scope"]) for e in events} == {("item", SPIKE_ITEM), ("district", SPIKE_DISTRICT)}, events
        for e in events:
            assert set(e) == {"type", "scope_type", "scope", "window", "window_end", "observed", "expected", "score",
                              "example_ticket_ids"}, e
            assert e["type"] == "repeat_spike" and e["window"] == "1h", e
            assert e["observed"] >= 5, e  # HOTLINE_SPIKE_MIN_COUNT; the detector may fire mid-spike
            assert e["expected"] < 2 and e["score"] >= 4, e  # HOTLINE_SPIKE_THRESHOLD
            assert e["example_ticket_ids"] and set(e["example_ticket_ids"]) <= set(spike_ids), e
            assert e["window_end"] > BACKGROUND_TO.timestamp(), e

        # (b) Prometheus with the verbatim rules. HotlineRepeatSpikeDetected (no `for:`) fires from
        # the detector's counter. HotlineRepeatSpikeItem/District cannot fire in a short test: their
        # baseline needs the Prometheus-history average `[7d:30m] offset 1h`, absent during the
        # first hour of history by design. Their other conditions hold (checked here); the rules
        # themselves fire with compressed history in (b').
        firing = hot.prom.wait_for('ALERTS{alertname="HotlineRepeatSpikeDetected", alertstate="firing"}', timeout=90)
        assert {a["metric"]["scope_type"] for a in firing} == {"item", "district"}, firing
        assert {a["metric"]["severity"] for a in firing} == {"info"}, firing
        # The recording rules follow the scrapes by an evaluation or two: wait for them.
        assert hot.prom.wait_for(f'hotline:item_repeat_tickets:1h{{item="{SPIKE_ITEM}"}} >= 10', timeout=90)
        assert hot.prom.wait_for(f'hotline:district_repeat_tickets:1h{{district="{SPIKE_DISTRICT}"}} >= 10', timeout=90)
        assert hot.prom.value(f'hotline:item_repeat_tickets_window_baseline:1h{{item="{SPIKE_ITEM}"}}') < 1
        assert not hot.prom.query("hotline:item_repeat_tickets_history_baseline:1h")
        assert not ever(hot.prom, 'ALERTS{alertname=~"HotlineRepeatSpike(Item|District)"}')
        # The overview panels that are empty after a healthy replay show the spike.
        scores = hot.prom.query("sort_desc(max by (scope_type, scope) (hotline_repeat_spike_score))")
        assert {(s["metric"]["scope_type"], s["metric"]["scope"]) for s in scores} == {
            ("item", SPIKE_ITEM), ("district", SPIKE_DISTRICT)}, scores
        assert hot.prom.query('ALERTS{alertstate="firing", alertname=~"Hotline.*"}')

        # (b') Compressed history (offset 5s instead of 1h, `for: 2s`): Item and District fire.
        want = {("HotlineRepeatSpikeItem", SPIKE_ITEM), ("HotlineRepeatSpikeDistrict", SPIKE_DISTRICT)}
        expr = 'ALERTS{alertname=~"HotlineRepeatSpike(Item|District)", alertstate="firing"}'
        deadline, seen = time.monotonic() + 30, set()
        while time.monotonic() < deadline and not want <= seen:
            seen = {(a["metric"]["alertname"], a["metric"].get("item") or a["metric"].get("district"))
                    for a in ever(hot.fast, expr)}
            time.sleep(0.5)
        assert want <= seen, f"compressed-history rules fired {seen}\n{hot.fast.log()}"
        assert {a["metric"]["scope"] for a in ever(hot.fast, expr)} == {"item", "district"}

        # (b'') The rising-items monitor (热点预警): the spike's item and district score far above the
        # same hours of the previous week in the exporter, and HotlineItemRising/DistrictRising fire
        # (compressed `for:`). No Prometheus history is needed: the baseline is in the counters.
        assert hot.prom.wait_for(f'hotline:item_rising_score{{item="{SPIKE_ITEM}"}} >= 6', timeout=30)
        assert hot.prom.wait_for(f'hotline:district_rising_score{{district="{SPIKE_DISTRICT}"}} >= 6', timeout=30)
        want = {("HotlineItemRising", SPIKE_ITEM), ("HotlineDistrictRising", SPIKE_DISTRICT)}
        deadline, seen = time.monotonic() + 30, set()
        while time.monotonic() < deadline and not want <= seen:
            seen = {(a["metric"]["alertname"], a["metric"].get("item") or a["metric"].get("district"))
                    for a in ever(hot.fast, RISING_FIRING)}
            time.sleep(0.5)
        assert seen == want, f"rising alerts {seen}\n{hot.fast.log()}"
        waited = time.monotonic() - t_spike

        # (c) The same background without the spike, quiet for longer than the spike took to alert.
        time.sleep(max(0.0, waited + 2 - (time.monotonic() - t_quiet)))
        assert consume_topic(quiet.settings, quiet.settings.alerts_topic, timeout=2) == []
        assert quiet.store.r.hgetall(quiet.store.k("alerts")) == {}
        for prom in (quiet.prom, quiet.fast):
            assert not ever(prom, SPIKE_ALERTS), ever(prom, SPIKE_ALERTS)
            assert not ever(prom, RISING_ALERTS), ever(prom, RISING_ALERTS)
            assert prom.query(f'hotline:item_rising_score{{item="{SPIKE_ITEM}"}} < 6'), "the calm item has a score"

            assert prom.value("sum(hotline_repeat_spike_alerts_total)") == 0
            assert not prom.query("hotline_repeat_spike_score")
        print(f"spike: alert events {[(e['scope_type'], e['observed'], e['expected'], e['score']) for e in events]}; "
              f"Prometheus alerts within {waited:.1f} s of the spike replay")

"""The PrometheusServer helper, and the project's rules and dashboards on a real Prometheus.

A tiny prometheus_client HTTP server plays the exporter: it publishes every metric of
docs/metrics.md with made-up values. Needs Debian's /usr/bin/prometheus (package `prometheus`);
skipped with a message when it is missing."""
from __future__ import annotations

import threading
import time

import pytest
from prometheus_client import CollectorRegistry, start_http_server
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

from deploy_catalogue import catalogue, dashboard_exprs, dashboards, substitute_variables
from prometheus_server import PrometheusError, PrometheusServer, find_prometheus, free_port

pytestmark = pytest.mark.skipif(
    find_prometheus() is None, reason="prometheus not installed (Debian: apt-get install prometheus)"
)

LABEL_VALUES = {
    "window": ["1h", "24h", "7d", "30d", "all"],
    "item": ["供水", "交通"],
    "channel": ["12345热线", "微信"],
    "district": ["南城街道", "东城街道"],
    "rights_claim": ["投诉", "求助"],
    "reply_type": ["onsite", "explanation", "both", "neither"],
    "score": ["1", "2", "3", "4", "5"],
    "rule": ["platform", "same_caller_item", "near_duplicate"],
    "scope_type": ["item", "district"],
    "scope": ["供水"],
    "outcome": ["counted", "duplicate", "rejected", "orphaned"],
    "reason": ["schema_invalid", "bad_time"],
    "partition": ["0", "1"],
    "rank": ["1", "2", "3"],
}


class FakeExporter:
    """Every catalogued metric, every label combination (small), value = `base` (mutable)."""

    def __init__(self) -> None:
        self.metrics = catalogue()
        self.overrides: dict[str, float] = {}
        self.started = time.time()
        self.lock = threading.Lock()

    def value(self, name: str) -> float:
        with self.lock:
            if name in self.overrides:
                return self.overrides[name]
        if name.endswith("_timestamp_seconds"):
            return time.time()
        if name.endswith("_total"):
            return 10 * (time.time() - self.started)  # counters keep increasing
        if "ratio" in name:
            return 0.25
        if "satisfaction" in name:
            return 4.2
        if name == "hotline_up":
            return 1
        return 12

    def collect(self):
        for m in self.metrics.values():
            cls = CounterMetricFamily if m.type == "counter" else GaugeMetricFamily
            # CounterMetricFamily appends _total itself
            family = cls(m.name[: -len("_total")] if m.type == "counter" else m.name, m.name, labels=list(m.labels))
            combos = [[]]
            for label in m.labels:
                combos = [c + [v] for c in combos for v in LABEL_VALUES.get(label, ["x"])]
            for combo in combos:
                family.add_metric(combo, self.value(m.name))
            yield family


@pytest.fixture(scope="module")
def fake_exporter():
    registry = CollectorRegistry()
    fake = FakeExporter()
    registry.register(fake)
    port = free_port()
    server, thread = start_http_server(port, addr="127.0.0.1", registry=registry)
    fake.target = f"127.0.0.1:{port}"
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture(scope="module")
def prom(fake_exporter):
    with PrometheusServer(fake_exporter.target) as server:
        server.wait_for('up{job="hotline-exporter"} == 1', timeout=90)
        yield server


def test_scrapes_the_target(prom, fake_exporter):
    (target,) = prom.targets()
    assert target["health"] == "up"
    assert target["labels"]["hotline_namespace"] == "hotline"
    assert prom.value("hotline_up") == 1.0
    series = prom.query('hotline_window_item_tickets{window="24h"}')
    assert {s["metric"]["item"] for s in series} == {"供水", "交通"}


def test_query_range(prom):
    prom.wait_for("count_over_time(hotline_up[1m]) >= 3", timeout=90)
    end = time.time()
    (series,) = prom.query_range("hotline_up", end - 5, end, step=1)
    assert len(series["values"]) >= 3
    assert {v for _, v in series["values"]} == {"1"}


def test_query_errors_are_raised(prom):
    with pytest.raises(PrometheusError, match="bad_data"):
        prom.query("sum(")


def test_every_catalogued_metric_is_scraped(prom):
    names = {r["metric"]["__name__"] for r in prom.query('{__name__=~"hotline_.+"}')}
    missing = set(catalogue()) - names
    assert not missing


def test_rules_load_and_evaluate_without_errors(prom):
    groups = prom.rule_groups()
    assert {g["name"] for g in groups} >= {"hotline-windows", "hotline-rates", "hotline-pipeline", "hotline-repeat-complaints"}
    prom.wait_for("hotline:item_repeat_tickets:1h", timeout=90)
    prom.wait_for("hotline:dlq_records_per_minute:rate5m", timeout=90)
    prom.wait_scrapes(2)  # rules evaluated on a few scrapes
    errors = [
        f"{g['name']}/{r['name']}: {r.get('lastError')}"
        for g in prom.rule_groups()
        for r in g["rules"]
        if r.get("health") == "err"
    ]
    assert not errors, "\n".join(errors)
    # de-duplicated, window label dropped, namespace kept
    (row,) = prom.query('hotline:item_repeat_tickets:1h{item="供水"}')
    assert row["metric"] == {"__name__": "hotline:item_repeat_tickets:1h", "item": "供水",
                             "job": "hotline-exporter", "hotline_namespace": "hotline"}
    assert float(row["value"][1]) == 12
    assert prom.value("hotline:evaluations:24h") == pytest.approx(0.25 * 12)


def test_alert_goes_pending_on_a_real_server(prom, fake_exporter):
    with fake_exporter.lock:
        fake_exporter.overrides["hotline_up"] = 0
    try:
        (alert,) = prom.wait_for('ALERTS{alertname="HotlineExporterRedisDown"}', timeout=90)
        assert alert["metric"]["alertstate"] == "pending"
        assert alert["metric"]["severity"] == "page" and alert["metric"]["scope"] == "pipeline"
    finally:
        with fake_exporter.lock:
            fake_exporter.overrides.pop("hotline_up")


@pytest.mark.parametrize("name", sorted(dashboards()))
def test_dashboard_queries_are_valid_promql(prom, name):
    """Every panel expression (variables substituted) runs on Prometheus without error."""
    problems = []
    for where, expr in dashboard_exprs(dashboards()[name]):
        try:
            prom.query(substitute_variables(expr))
        except PrometheusError as exc:
            problems.append(f"{where}: {expr!r}: {exc}")
    assert not problems, "\n".join(problems)


# ---- the real exporter's catalogue ----------------------------------------------------------------
# Published only when there is something to say (asserted where it happens: tests/deploy/test_live_prometheus.py).
ONLY_WHEN_PRESENT = {
    "hotline_hot_cluster_tickets": "needs `hotline hotspots` running",
    "hotline_repeat_spike_score": "only for scopes that alerted in the last 2 h",
}


def test_a_real_exporter_on_counted_data_publishes_the_catalogue(redis_url, namespace, tmp_path):
    """Not the fake above: lifecycle tickets counted into a real Redis through the fenced path, the
    real `hotline exporter` process, a real Prometheus scraping it. Every catalogued exporter metric
    is scraped, and the ticket count Prometheus holds is the one counted."""
    from schemas.taxonomy import load_taxonomy
    from streams.adapters.fenced import FencedCounter, PartitionBatch
    from streams.adapters.store import CounterStore, connect
    from streams.core.pipeline import Processor
    from streams.core.testing import FixedPredictor
    from streams.adapters.embedded import wait_port
    from streams.settings import Settings
    from tests.support import generate, start_exporter

    store = CounterStore(connect(redis_url), namespace, load_taxonomy())
    store.claim_namespace()
    path = generate(tmp_path / "lifecycle.jsonl", 300, seed=3, mode="lifecycle", dirty=0.05)
    records = [ln for ln in path.read_bytes().splitlines() if ln.strip()]
    counter = FencedCounter(store, Processor("k", FixedPredictor()))
    counter.count([PartitionBatch("raw", 0, list(range(len(records))), records)])
    tickets = store.all_time()["all||tickets"]
    settings = Settings.from_env({}).with_(redis_url=redis_url, namespace=namespace,
                                           exporter_addr=f"127.0.0.1:{free_port()}")
    exporter = start_exporter(settings, HOTLINE_WINDOW_CLOCK="event")
    try:
        wait_port(settings.exporter_host_port[1], 60, exporter.p, "exporter")
        with PrometheusServer(settings.exporter_addr, labels={"hotline_namespace": namespace}) as server:
            server.wait_for('up{job="hotline-exporter"} == 1')
            assert server.wait_for(f"hotline_tickets_total == {tickets}")
            names = {r["metric"]["__name__"] for r in server.query('{__name__=~"hotline_.+"}')}
        # The worker's own metrics are on the worker's /metrics (tests/deploy/test_live_prometheus.py).
        wanted = {name for name in catalogue() if not name.startswith("hotline_worker_")} - set(ONLY_WHEN_PRESENT)
        missing = sorted(wanted - names)
        assert not missing, f"catalogued but not published by the real exporter: {missing}"
    finally:
        exporter.stop()
        store.drop()

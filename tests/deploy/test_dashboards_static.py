"""Static checks of the Grafana provisioning and dashboards (no Grafana needed)."""
from __future__ import annotations

import re

import pytest

from deploy_catalogue import (
    BUILTIN_SERIES, DEPLOY, catalogue, dashboard_exprs, dashboards, iter_panels, metric_names,
    recording_rule_names,
)

EXPECTED_UIDS = {"hotline-overview.json": "hotline-overview", "hotline-pipeline.json": "hotline-pipeline"}
DASHES = dashboards()


def test_expected_dashboards_with_fixed_uids():
    assert {name: d.get("uid") for name, d in DASHES.items()} == EXPECTED_UIDS


def test_uids_and_titles_unique():
    uids = [d["uid"] for d in DASHES.values()]
    titles = [d["title"] for d in DASHES.values()]
    assert len(set(uids)) == len(uids) and len(set(titles)) == len(titles)


@pytest.mark.parametrize("name", sorted(DASHES))
def test_grafana_10_model(name):
    d = DASHES[name]
    assert d.get("schemaVersion", 0) >= 38
    assert d.get("id") is None, "provisioned dashboards must not carry a database id"
    ids = [p["id"] for p in iter_panels(d["panels"])]
    assert len(ids) == len(set(ids)), "duplicate panel ids"
    for p in iter_panels(d["panels"]):
        g = p.get("gridPos", {})
        assert {"h", "w", "x", "y"} <= set(g), f"panel {p.get('title')!r} without gridPos"
        assert g["x"] + g["w"] <= 24, f"panel {p.get('title')!r} overflows the grid"


@pytest.mark.parametrize("name", sorted(DASHES))
def test_every_panel_uses_the_prometheus_uid(name):
    problems = []
    for p in iter_panels(DASHES[name]["panels"]):
        if p.get("type") == "row":
            continue
        ds = p.get("datasource") or {}
        if ds.get("uid") != "prometheus":
            problems.append(f"panel {p.get('title')!r}: datasource {ds!r}")
        for t in p.get("targets", []):
            if (t.get("datasource") or {}).get("uid") != "prometheus":
                problems.append(f"panel {p.get('title')!r} target {t.get('refId')}: datasource {t.get('datasource')!r}")
        if not p.get("targets"):
            problems.append(f"panel {p.get('title')!r}: no targets")
    for v in DASHES[name].get("templating", {}).get("list", []):
        if v.get("type") == "query" and (v.get("datasource") or {}).get("uid") != "prometheus":
            problems.append(f"variable {v.get('name')}: datasource {v.get('datasource')!r}")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("name", sorted(DASHES))
def test_every_metric_is_catalogued(name):
    known = set(catalogue()) | recording_rule_names() | BUILTIN_SERIES
    problems = []
    for where, expr in dashboard_exprs(DASHES[name]):
        unknown = metric_names(expr) - known
        if unknown:
            problems.append(f"{where}: {sorted(unknown)} in {expr!r}")
    assert not problems, "metrics neither in docs/metrics.md nor recorded nor ALERTS/up:\n" + "\n".join(problems)


def test_overview_variables_and_panels():
    d = DASHES["hotline-overview.json"]
    variables = {v["name"]: v for v in d["templating"]["list"]}
    window = variables["window"]
    assert window["type"] == "custom"
    assert [o["value"] for o in window["options"]] == ["1h", "24h", "7d", "30d", "all"]
    assert window["query"].replace(" ", "") == "1h,24h,7d,30d,all"
    item = variables["item"]
    assert item["type"] == "query" and "label_values(" in item["definition"] and ", item)" in item["definition"]
    exprs = " ".join(e for _, e in dashboard_exprs(d))
    for needed in ("hotline_window_tickets", "hotline_evaluation_ratio", "hotline_satisfaction_mean",
                   "hotline_off_hours_ratio", "hotline_withdrawal_ratio", "hotline_repeat_ratio",
                   "hotline_window_item_tickets", "hotline_window_channel_tickets", "hotline_window_district_tickets",
                   "hotline_reply_type_ratio", "hotline_hot_cluster_tickets", 'ALERTS{alertstate="firing"'):
        assert needed in exprs, needed
    # windowed panels follow the variable
    for where, expr in dashboard_exprs(d):
        if where.startswith("variable"):
            continue
        if re.search(r"hotline_(window_|off_hours|evaluation_ratio|withdrawal|repeat_ratio|reply_type|hot_cluster)", expr):
            assert 'window="$window"' in expr, f"{where}: {expr}"


def test_pipeline_panels():
    exprs = " ".join(e for _, e in dashboard_exprs(DASHES["hotline-pipeline.json"]))
    for needed in ("rate(hotline_events_total[5m])", "hotline_dlq_records_total", "hotline_late_events_total",
                   "hotline_partition_lag_messages", "hotline_newest_event_timestamp_seconds",
                   'up{job="hotline-worker"}', 'up{job="hotline-exporter"}', "hotline_up"):
        assert needed in exprs, needed


def test_provisioning_files():
    ds = (DEPLOY / "grafana" / "provisioning" / "datasources" / "prometheus.yml").read_text(encoding="utf-8")
    assert re.search(r"^\s+uid:\s*prometheus\s*$", ds, re.M)
    assert re.search(r"^\s+type:\s*prometheus\s*$", ds, re.M)
    assert "http://prometheus:9090" in ds
    prov = (DEPLOY / "grafana" / "provisioning" / "dashboards" / "hotline.yml").read_text(encoding="utf-8")
    assert "path: /var/lib/grafana/dashboards" in prov
    compose = (DEPLOY / "docker-compose.yml").read_text(encoding="utf-8")
    assert "./grafana/dashboards:/var/lib/grafana/dashboards" in compose
    assert "./grafana/provisioning:/etc/grafana/provisioning" in compose

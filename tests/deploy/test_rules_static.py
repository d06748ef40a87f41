"""Static checks of the rule files: names against docs/metrics.md, labels, annotations, runbooks."""
from __future__ import annotations

import re

from deploy_catalogue import (
    BUILTIN_SERIES, REPO, alert_rules, catalogue, metric_names, recording_rule_names, rule_exprs,
)

SEVERITIES = {"page", "ticket", "info"}
# `overall` is for whole-hotline business figures (e.g. the overall satisfaction drop); the scope of
# HotlineRepeatSpikeDetected is templated from the detector's scope_type (item | district).
SCOPES = {"item", "district", "overall", "pipeline"}


def test_rule_exprs_use_catalogued_metrics_only():
    known = set(catalogue()) | recording_rule_names() | BUILTIN_SERIES
    problems = [
        f"{f}: {owner}: {sorted(metric_names(expr) - known)}"
        for f, owner, expr in rule_exprs()
        if metric_names(expr) - known
    ]
    assert not problems, "metrics not in docs/metrics.md nor recorded:\n" + "\n".join(problems)


def test_recording_rule_names_follow_convention():
    bad = [n for n in recording_rule_names() if not re.fullmatch(r"hotline:[a-z0-9_]+(:[a-z0-9_]+)?", n)]
    assert not bad, bad


def test_alert_labels_and_annotations():
    ops = (REPO / "docs" / "operations.md").read_text(encoding="utf-8")
    anchors = {
        re.sub(r"[^a-z0-9\- _]", "", h.strip().lower()).replace(" ", "-")
        for h in re.findall(r"^#+\s+(.+)$", ops, re.M)
    }
    problems = []
    for rule in alert_rules():
        sev, scope = rule.label("severity"), rule.label("scope")
        if sev not in SEVERITIES:
            problems.append(f"{rule.name}: severity={sev!r}")
        if scope not in SCOPES and scope != "{{ $labels.scope_type }}":
            problems.append(f"{rule.name}: scope={scope!r}")
        summary = rule.annotation("summary") or ""
        if not (re.search(r"[\u4e00-\u9fff]", summary) and re.search(r"[A-Za-z]{3}", summary) and " / " in summary):
            problems.append(f"{rule.name}: summary must be 中文 / English: {summary!r}")
        if not rule.annotation("description"):
            problems.append(f"{rule.name}: no description")
        runbook = rule.annotation("runbook") or ""
        if runbook != f"docs/operations.md#{rule.name.lower()}":
            problems.append(f"{rule.name}: runbook={runbook!r}")
        elif rule.name.lower() not in anchors:
            problems.append(f"{rule.name}: docs/operations.md has no heading {rule.name}")
    assert not problems, "\n".join(problems)

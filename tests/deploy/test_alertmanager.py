"""Alertmanager config: amtool check-config, the routing tree, and inhibition against a real
Alertmanager (Debian's prometheus-alertmanager binary on a free loopback port).

Needs `amtool` and `prometheus-alertmanager` (Debian package `prometheus-alertmanager`); each test
skips with a message when its tool is missing."""
from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
import time
import urllib.request
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from deploy_catalogue import DEPLOY, alert_rules
from prometheus_server import free_port

CONFIG = DEPLOY / "alertmanager" / "alertmanager.yml"
AMTOOL = shutil.which("amtool")
ALERTMANAGER = next(
    (p for p in (shutil.which("prometheus-alertmanager"), shutil.which("alertmanager")) if p), None
)
needs_amtool = pytest.mark.skipif(
    AMTOOL is None, reason="amtool not installed (Debian: apt-get install prometheus-alertmanager)"
)
needs_alertmanager = pytest.mark.skipif(
    ALERTMANAGER is None, reason="alertmanager not installed (Debian: apt-get install prometheus-alertmanager)"
)


def _amtool(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([AMTOOL, *args], capture_output=True, text=True, timeout=60)


@needs_amtool
def test_check_config():
    proc = _amtool("check-config", str(CONFIG))
    assert proc.returncode == 0, f"amtool check-config failed:\n{proc.stdout}\n{proc.stderr}"


ROUTES = [
    # labels -> receiver
    ({"alertname": "HotlinePipelineStalled", "severity": "page", "scope": "pipeline"}, "sre-page"),
    ({"alertname": "HotlineExporterDown", "severity": "page", "scope": "pipeline"}, "sre-page"),
    ({"alertname": "HotlineDLQSurge", "severity": "ticket", "scope": "pipeline", "reason": "x"}, "sre-ticket"),
    ({"alertname": "HotlineExporterSlowScrape", "severity": "info", "scope": "pipeline"}, "sre-info"),
    ({"alertname": "HotlineRepeatSpikeItem", "severity": "ticket", "scope": "item", "item": "供水"}, "hotline-ops-ticket"),
    ({"alertname": "HotlineRepeatSpikeDistrict", "severity": "ticket", "scope": "district", "district": "南城街道"}, "hotline-ops-ticket"),
    ({"alertname": "HotlineSatisfactionDrop", "severity": "ticket", "scope": "overall"}, "hotline-ops-ticket"),
    ({"alertname": "HotlineRepeatSpikeDetected", "severity": "info", "scope": "item"}, "hotline-ops-info"),
    ({"alertname": "SomethingElse", "severity": "warning"}, "hotline-default"),
]


@needs_amtool
@pytest.mark.parametrize("labels,receiver", ROUTES, ids=[r[0]["alertname"] + "-" + r[1] for r in ROUTES])
def test_routes(labels, receiver):
    proc = _amtool(
        "config", "routes", "test", f"--config.file={CONFIG}", f"--verify.receivers={receiver}",
        *[f"{k}={v}" for k, v in labels.items()],
    )
    assert proc.returncode == 0, f"{labels} should route to {receiver}:\n{proc.stdout}\n{proc.stderr}"


@needs_amtool
def test_every_alert_rule_routes_to_a_named_receiver():
    """Each rule's (severity, scope) lands on a team receiver, never on the catch-all."""
    for rule in alert_rules():
        scope = rule.label("scope")
        scopes = ["item", "district"] if "scope_type" in (scope or "") else [scope]
        for sc in scopes:
            proc = _amtool("config", "routes", "test", f"--config.file={CONFIG}",
                           f"alertname={rule.name}", f"severity={rule.label('severity')}", f"scope={sc}")
            assert proc.returncode == 0, proc.stderr
            assert proc.stdout.strip() != "hotline-default", f"{rule.name} ({sc}) falls through to the default receiver"


# ---- inhibition against a real Alertmanager ---------------------------------------------------------
class _Alertmanager:
    def __init__(self) -> None:
        self.tmp = tempfile.TemporaryDirectory(prefix="hotline-am-")
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = Path(self.tmp.name) / "am.log"
        with open(self.log, "wb") as log:
            self.proc = subprocess.Popen(
                [ALERTMANAGER, f"--config.file={CONFIG}", f"--storage.path={self.tmp.name}",
                 f"--web.listen-address=127.0.0.1:{self.port}", "--cluster.listen-address=",
                 "--log.level=warn"],
                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            )
        deadline = time.monotonic() + 30
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"alertmanager exited:\n{self.log.read_text(errors='replace')}")
            try:
                with urllib.request.urlopen(f"{self.url}/-/ready", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"alertmanager not ready:\n{self.log.read_text(errors='replace')}")
            time.sleep(0.1)

    def post(self, alerts: list[dict]) -> None:
        now = datetime.now(timezone.utc)
        body = [{"labels": a, "annotations": {}, "startsAt": now.isoformat(),
                 "endsAt": (now + timedelta(hours=1)).isoformat()} for a in alerts]
        req = urllib.request.Request(f"{self.url}/api/v2/alerts", data=json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json"}, method="POST")
        with urllib.request.urlopen(req, timeout=10) as r:
            assert r.status == 200

    def alerts(self) -> list[dict]:
        with urllib.request.urlopen(f"{self.url}/api/v2/alerts", timeout=10) as r:
            return json.load(r)

    def close(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)
        self.tmp.cleanup()


@pytest.fixture(scope="module")
def alertmanager():
    if ALERTMANAGER is None:
        pytest.skip("alertmanager not installed (Debian: apt-get install prometheus-alertmanager)")
    am = _Alertmanager()
    try:
        yield am
    finally:
        am.close()


def _key(a: dict) -> tuple:
    lab = a["labels"]
    return (lab["alertname"], lab.get("hotline_namespace"), lab.get("item") or lab.get("reason") or lab.get("partition"))


@needs_alertmanager
def test_inhibition(alertmanager):
    ns, other = {"hotline_namespace": "hotline"}, {"hotline_namespace": "other"}
    alertmanager.post([
        # causes
        {"alertname": "HotlinePipelineStalled", "severity": "page", "scope": "pipeline", "job": "hotline-exporter", **ns},
        {"alertname": "HotlineExporterRedisDown", "severity": "page", "scope": "pipeline", **other},
        # symptoms in the stalled namespace: suppressed
        {"alertname": "HotlineRepeatSpikeItem", "severity": "ticket", "scope": "item", "item": "供水", **ns},
        {"alertname": "HotlineDLQSurge", "severity": "ticket", "scope": "pipeline", "reason": "schema_invalid", **ns},
        {"alertname": "HotlinePipelineLagging", "severity": "ticket", "scope": "pipeline", "partition": "0", **ns},
        # namespace "other": Redis down suppresses business symptoms but not lag (only a stall does)
        {"alertname": "HotlineSatisfactionDrop", "severity": "ticket", "scope": "overall", **other},
        {"alertname": "HotlinePipelineLagging", "severity": "ticket", "scope": "pipeline", "partition": "0", **other},
        # a third namespace with no cause: nothing suppressed
        {"alertname": "HotlineRepeatSpikeItem", "severity": "ticket", "scope": "item", "item": "供水", "hotline_namespace": "third"},
    ])
    expected = {
        ("HotlinePipelineStalled", "hotline", None): "active",
        ("HotlineExporterRedisDown", "other", None): "active",
        ("HotlineRepeatSpikeItem", "hotline", "供水"): "suppressed",
        ("HotlineDLQSurge", "hotline", "schema_invalid"): "suppressed",
        ("HotlinePipelineLagging", "hotline", "0"): "suppressed",
        ("HotlineSatisfactionDrop", "other", None): "suppressed",
        ("HotlinePipelineLagging", "other", "0"): "active",
        ("HotlineRepeatSpikeItem", "third", "供水"): "active",
    }
    deadline = time.monotonic() + 15
    while True:
        got = {_key(a): a["status"]["state"] for a in alertmanager.alerts()}
        if got == expected or time.monotonic() > deadline:
            break
        time.sleep(0.25)
    assert got == expected

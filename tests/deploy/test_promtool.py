"""promtool: rule syntax, Prometheus config, and the rule unit tests in deploy/prometheus/tests/.

Needs `promtool` (Debian package `prometheus`); skipped with a message when it is not installed."""
from __future__ import annotations

import re
import shutil
import subprocess

import pytest

from deploy_catalogue import DEPLOY, PROM_TESTS_DIR, alert_names, rule_files

PROMTOOL = shutil.which("promtool")
needs_promtool = pytest.mark.skipif(
    PROMTOOL is None, reason="promtool not installed (Debian: apt-get install prometheus)"
)

TEST_FILES = sorted(PROM_TESTS_DIR.glob("*.yml"))


def _run(*args: str, cwd=None, timeout: float = 300) -> None:
    proc = subprocess.run([PROMTOOL, *args], capture_output=True, text=True, cwd=cwd, timeout=timeout)
    if proc.returncode != 0:
        pytest.fail(f"promtool {' '.join(args)} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")


@needs_promtool
def test_check_rules():
    files = [str(p) for p in rule_files()]
    assert files, "no rule files under deploy/prometheus/rules"
    _run("check", "rules", *files)


@needs_promtool
def test_check_config():
    # also checks that the rule_files it names exist and parse
    _run("check", "config", str(DEPLOY / "prometheus" / "prometheus.yml"))


@needs_promtool
@pytest.mark.parametrize("test_file", TEST_FILES, ids=[p.name for p in TEST_FILES])
def test_rule_unit_tests(test_file):
    _run("test", "rules", test_file.name, cwd=test_file.parent)


def _alert_expectations() -> dict[str, dict[str, int]]:
    """alertname -> {"firing": n, "quiet": n} over every alert_rule_test entry of every test file."""
    seen: dict[str, dict[str, int]] = {}
    for path in TEST_FILES:
        lines = path.read_text(encoding="utf-8").splitlines()
        for i, line in enumerate(lines):
            m = re.match(r"\s*alertname:\s*(\S+)\s*$", line)
            if not m:
                continue
            name = m.group(1)
            nxt = next((ln for ln in lines[i + 1:] if ln.strip()), "")
            kind = "quiet" if re.match(r"\s*exp_alerts:\s*\[\]\s*$", nxt) else "firing"
            seen.setdefault(name, {"firing": 0, "quiet": 0})[kind] += 1
    return seen


def test_every_alert_is_tested_firing_and_quiet():
    seen = _alert_expectations()
    missing = [
        f"{a}: firing={seen.get(a, {}).get('firing', 0)} quiet={seen.get(a, {}).get('quiet', 0)}"
        for a in alert_names()
        if not seen.get(a, {}).get("firing") or not seen.get(a, {}).get("quiet")
    ]
    assert not missing, "alerts without both a firing and a not-firing unit test:\n" + "\n".join(missing)
    unknown = set(seen) - set(alert_names())
    assert not unknown, f"unit tests name alerts that do not exist: {sorted(unknown)}"


def test_quiet_week_checks_every_alert():
    text = (PROM_TESTS_DIR / "quiet_week.yml").read_text(encoding="utf-8")
    tested = set(re.findall(r"alertname:\s*(\S+)", text))
    assert tested == set(alert_names())
    assert "exp_alerts:\n          - " not in text, "the quiet week must expect no alert at all"

"""Shared helpers for the deploy tests: the metric catalogue (docs/metrics.md), rule files and
dashboard expressions, parsed with the standard library only (no PyYAML in the project)."""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
METRICS_MD = REPO / "docs" / "metrics.md"
RULES_DIR = DEPLOY / "prometheus" / "rules"
PROM_TESTS_DIR = DEPLOY / "prometheus" / "tests"
DASHBOARDS_DIR = DEPLOY / "grafana" / "dashboards"

# Series every Prometheus has without an exporter publishing them.
BUILTIN_SERIES = {"up", "ALERTS", "ALERTS_FOR_STATE"}


@dataclass(frozen=True)
class CatalogueMetric:
    name: str
    type: str  # counter | gauge
    labels: tuple[str, ...]
    section: str


def catalogue() -> dict[str, CatalogueMetric]:
    """Metrics of docs/metrics.md: every table row whose first cell is a backticked name.

    Only the tables above a "Requested" section count: requested metrics are not published yet."""
    text = METRICS_MD.read_text(encoding="utf-8")
    out: dict[str, CatalogueMetric] = {}
    section = ""
    header: list[str] = []
    for line in text.splitlines():
        if line.startswith("#"):
            section = line.lstrip("#").strip()
            header = []
            if section.lower().startswith("requested"):
                break
            continue
        if not line.startswith("|"):
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if cells and cells[0] == "metric":
            header = cells
            continue
        m = re.fullmatch(r"`([a-zA-Z_:][a-zA-Z0-9_:]*)`", cells[0]) if cells else None
        if not m or not header:
            continue
        row = dict(zip(header, cells))
        mtype = row.get("type", "gauge").strip()
        if mtype not in ("counter", "gauge"):
            mtype = "gauge"
        labels = tuple(re.findall(r"`([a-zA-Z_][a-zA-Z0-9_]*)`", row.get("labels", "")))
        out[m.group(1)] = CatalogueMetric(m.group(1), mtype, labels, section)
    return out


def rule_files() -> list[Path]:
    return sorted(RULES_DIR.glob("*.yml"))


def _yaml_scalar_blocks(text: str, key: str) -> list[tuple[str, str]]:
    """(owner, value) for every `key:` in a rules file, inline or as a `|`/`>` block scalar.

    owner is the `record:` / `alert:` name of the enclosing rule (empty if none)."""
    out: list[tuple[str, str]] = []
    lines = text.splitlines()
    owner = ""
    i = 0
    key_re = re.compile(rf"^(\s*)(?:-\s+)?{re.escape(key)}:\s*(.*)$")
    owner_re = re.compile(r"^\s*-\s+(?:record|alert):\s*(\S+)")
    while i < len(lines):
        om = owner_re.match(lines[i])
        if om:
            owner = om.group(1)
        m = key_re.match(lines[i])
        if not m:
            i += 1
            continue
        indent, value = len(m.group(1)), m.group(2).strip()
        if value in ("|", ">", "|-", ">-", "|+", ">+"):
            block = []
            i += 1
            while i < len(lines) and (not lines[i].strip() or len(lines[i]) - len(lines[i].lstrip()) > indent):
                block.append(lines[i].strip())
                i += 1
            out.append((owner, "\n".join(block).strip()))
            continue
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        out.append((owner, value))
        i += 1
    return out


def rule_exprs() -> list[tuple[str, str, str]]:
    """(file name, rule name, expr) for every rule."""
    out = []
    for path in rule_files():
        for owner, expr in _yaml_scalar_blocks(path.read_text(encoding="utf-8"), "expr"):
            out.append((path.name, owner, expr))
    return out


def recording_rule_names() -> set[str]:
    names = set()
    for path in rule_files():
        names |= set(re.findall(r"^\s*-\s+record:\s*(\S+)", path.read_text(encoding="utf-8"), re.M))
    return names


def alert_names() -> list[str]:
    names = []
    for path in rule_files():
        names += re.findall(r"^\s*-\s+alert:\s*(\S+)", path.read_text(encoding="utf-8"), re.M)
    return names


@dataclass
class AlertRule:
    name: str
    block: str  # the rule's YAML text

    def _section(self, key: str) -> str:
        m = re.search(rf"(?m)^(\s+){key}:\s*$", self.block)
        if not m:
            return ""
        indent = len(m.group(1))
        out = []
        for line in self.block[m.end():].splitlines()[1:]:
            if line.strip() and len(line) - len(line.lstrip()) <= indent:
                break
            out.append(line)
        return "\n".join(out)

    def _get(self, section: str, key: str) -> str | None:
        m = re.search(rf"(?m)^\s+{re.escape(key)}:\s*(.+)$", self._section(section))
        return m.group(1).strip().strip("\"'") if m else None

    def label(self, key: str) -> str | None:
        return self._get("labels", key)

    def annotation(self, key: str) -> str | None:
        return self._get("annotations", key)


def alert_rules() -> list[AlertRule]:
    text = (RULES_DIR / "alerts.yml").read_text(encoding="utf-8")
    parts = re.split(r"(?m)^(?=[ \t]*-[ \t]+alert:)", text)
    rules = []
    for part in parts[1:]:
        part = re.split(r"(?m)^[ \t]{0,2}-[ \t]+name:", part)[0]  # cut at the next group
        name = re.match(r"[ \t]*-[ \t]+alert:[ \t]*(\S+)", part).group(1)
        rules.append(AlertRule(name, part))
    return rules


# ---- PromQL -------------------------------------------------------------------------------------
PROMQL_KEYWORDS = {
    "by", "without", "on", "ignoring", "group_left", "group_right", "and", "or", "unless", "offset",
    "bool", "inf", "nan", "atan2", "start", "end",
}
_IDENT = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")


def metric_names(expr: str) -> set[str]:
    """Metric names an expression selects (a small lexer; good enough for our own expressions)."""
    s = re.sub(r'"(?:\\.|[^"\\])*"|\'(?:\\.|[^\'\\])*\'|`[^`]*`', '""', expr)  # strings
    s = re.sub(r"\{[^{}]*\}", "{}", s)  # label matchers
    s = re.sub(r"\[[^\[\]]*\]", "[]", s)  # ranges / subqueries
    # label lists after grouping modifiers
    s = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^()]*\)", r"\1", s)
    names = set()
    for m in _IDENT.finditer(s):
        word = m.group(0)
        before = s[: m.start()]
        after = s[m.end():].lstrip()
        if before and (before[-1].isalnum() or before[-1] in "._$"):
            continue  # part of a number (1e3), a duration, or a $variable
        if word.lower() in PROMQL_KEYWORDS:
            continue
        if after.startswith("(") or re.match(r"(by|without)\b", after):
            continue  # function or aggregation (`max without (...) (...)`)
        if re.fullmatch(r"\d+[smhdwy]", word):
            continue
        names.add(word)
    return names


def dashboards() -> dict[str, dict]:
    return {p.name: json.loads(p.read_text(encoding="utf-8")) for p in sorted(DASHBOARDS_DIR.glob("*.json"))}


def iter_panels(panels):
    for p in panels:
        yield p
        yield from iter_panels(p.get("panels", []))


def dashboard_exprs(dash: dict) -> list[tuple[str, str]]:
    """(where, expr) for every target expr and every query variable of a dashboard."""
    out = []
    for p in iter_panels(dash.get("panels", [])):
        for t in p.get("targets", []):
            if "expr" in t:
                out.append((f"panel {p.get('id')} {p.get('title')!r}", t["expr"]))
    for v in dash.get("templating", {}).get("list", []):
        if v.get("type") == "query":
            q = v.get("query")
            q = q.get("query") if isinstance(q, dict) else q
            m = re.fullmatch(r"\s*label_values\((.*),\s*[a-zA-Z_][a-zA-Z0-9_]*\s*\)\s*", q or "")
            out.append((f"variable {v.get('name')}", m.group(1) if m else q))
    return out


def substitute_variables(expr: str) -> str:
    """Grafana variables -> concrete values, to send a dashboard expression to Prometheus."""
    values = {"window": "24h", "item": ".*", "__rate_interval": "1m", "__interval": "15s", "__range": "1h"}
    return re.sub(r"\$\{?(\w+)\}?", lambda m: values.get(m.group(1), m.group(0)), expr)

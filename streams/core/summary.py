"""Counter fields -> the study's figures. Shared by `hotline report` (batch) and `hotline snapshot` (live).

Both hand this the same kind of input (a flat {"<dim>|<value>|<metric>": int} map plus pipeline
counters), so their JSON compares field by field. The schema is documented in README.md
("Report JSON"); `SCHEMA` names its version.
"""
from __future__ import annotations

import math
from typing import Mapping

from streams.core.cleaning import REASONS
from streams.core.counting import REPLY_TYPES, SCORES
from streams.core.monitors import CALLBACK, ON_TIME, closed_metric
from streams.core.windows import window_resolution

SCHEMA = "hotline.report/1"
BREAKDOWNS = {"item": "by_item", "sub": "by_subcategory", "channel": "by_channel", "district": "by_district",
              "rights": "by_rights_claim", "reply": "by_reply_type"}


# The figures of a breakdown row and a metric each needs (a representative name where the metric is a
# family: closed_<n>d, sat_<n>). A live window's buckets carry some metrics only in the "all" row
# (streams/core/windows.py, WATCH_METRICS): there these figures of the other rows are null, not 0.
_NEEDS = {"off_hours": "off_hours", "off_hours_share": "off_hours", "withdrawn": "withdrawn",
          "withdrawal_rate": "withdrawn", "predicted_items": "predicted", "low_confidence_items": "low_confidence",
          "satisfaction_histogram": "sat_1", "closed": closed_metric(1), "open": closed_metric(1),
          "replied_on_time": ON_TIME, "on_time_reply_rate": ON_TIME, "callbacks": CALLBACK}


def _ratio(num: int, den: int) -> float | None:
    return round(num / den, 6) if den else None


def _figures(m: Mapping[str, int]) -> dict:
    tickets = m.get("tickets", 0)
    replied = m.get("replied", 0)
    evaluated = m.get("evaluated", 0)
    closed = sum(v for k, v in m.items() if k.startswith("closed_"))
    return {
        "tickets": tickets,
        "off_hours": m.get("off_hours", 0),
        "off_hours_share": _ratio(m.get("off_hours", 0), tickets),
        "withdrawn": m.get("withdrawn", 0),
        "withdrawal_rate": _ratio(m.get("withdrawn", 0), tickets),
        "repeat": m.get("repeat", 0),
        "repeat_rate": _ratio(m.get("repeat", 0), tickets),
        "repeat_by_rule": {"platform": m.get("repeat", 0), "caller": m.get("repeat_caller", 0),
                           "text": m.get("repeat_text", 0)},
        "predicted_items": m.get("predicted", 0),
        "low_confidence_items": m.get("low_confidence", 0),
        "replied": replied,
        "reply_types": {t: m.get(f"reply_{t}", 0) for t in REPLY_TYPES},
        "reply_type_shares": {t: _ratio(m.get(f"reply_{t}", 0), replied) for t in REPLY_TYPES},
        "response_seconds_mean": round(m.get("response_s", 0) / replied, 3) if replied else None,
        "evaluated": evaluated,
        "evaluation_rate": _ratio(evaluated, tickets),
        "satisfaction_mean": round(m.get("sat_sum", 0) / evaluated, 6) if evaluated else None,
        "satisfaction_histogram": {str(s): m.get(f"sat_{s}", 0) for s in SCORES},
        # monitors (streams/core/monitors.py): closed = replied or withdrawn, counted where received
        "closed": closed,
        "open": tickets - closed,
        "replied_on_time": m.get(ON_TIME, 0),
        "on_time_reply_rate": _ratio(m.get(ON_TIME, 0), replied),
        "callbacks": m.get(CALLBACK, 0),
    }


def spearman(xs: list[float], ys: list[float]) -> dict:
    if len(xs) < 3:
        return {"rho": None, "p": None, "items": len(xs)}
    from scipy.stats import spearmanr  # imported late: scipy costs ~0.3 s to import

    res = spearmanr(xs, ys)
    rho, p = float(res.statistic), float(res.pvalue)
    if math.isnan(rho):
        return {"rho": None, "p": None, "items": len(xs)}
    return {"rho": round(rho, 6), "p": round(p, 6), "items": len(xs)}


def summarize(fields: Mapping[str, int], pipeline: Mapping[str, int], *, source: str, window: str = "all",
              window_end: int | None = None, monitors: dict | None = None) -> dict:
    """`monitors`: overdue and rising at a time (streams/core/monitors.monitors), when known."""
    groups: dict[str, dict[str, dict[str, int]]] = {dim: {} for dim in BREAKDOWNS}
    overall: dict[str, int] = {}
    for key, value in fields.items():
        dim, name, metric = key.split("|", 2)
        if dim == "all":
            overall[metric] = int(value)
        elif dim in groups:
            groups[dim].setdefault(name, {})[metric] = int(value)

    out = {"schema": SCHEMA, "source": source, "window": window, "window_end": window_end}
    rejected_by_reason = {r: int(pipeline.get(f"dlq|{r}", 0)) for r in REASONS if pipeline.get(f"dlq|{r}", 0)}
    out["records"] = int(pipeline.get("records", 0))
    out["events_counted"] = int(pipeline.get("events|counted", 0))
    out["rejected"] = sum(rejected_by_reason.values())
    out["rejected_by_reason"] = dict(sorted(rejected_by_reason.items()))
    out["parked"] = int(pipeline.get("events|parked", 0))
    out["orphaned"] = int(pipeline.get("events|orphaned", 0))
    out["late"] = int(pipeline.get("late", 0))
    out["offset_gaps"] = int(pipeline.get("gap", 0))
    fig = _figures(overall)
    out["valid"] = fig["tickets"]
    out.update(fig)

    res = window_resolution(window)
    for dim, key in BREAKDOWNS.items():
        table = {name: _figures(m) for name, m in groups[dim].items()}
        missing = [] if res is None else [k for k, metric in _NEEDS.items() if not res.carries(dim, metric)]
        for row in table.values():
            row.update(dict.fromkeys(missing))
            row["share"] = _ratio(row["tickets"], fig["tickets"])
        out[key] = dict(sorted(table.items(), key=lambda kv: (-kv[1]["tickets"], kv[0])))

    items = out["by_item"]
    volumes = sorted((row["tickets"] for row in items.values()), reverse=True)
    out["top11_items_share"] = _ratio(sum(volumes[:11]), fig["tickets"])
    evaluated_items = [(row["tickets"], row["satisfaction_mean"]) for row in items.values() if row["evaluated"]]
    out["evaluated_items"] = len(evaluated_items)
    out["volume_satisfaction_spearman"] = spearman([v for v, _ in evaluated_items], [s for _, s in evaluated_items])
    if monitors is not None:
        out["overdue"] = monitors["overdue"]["overdue"]
        out["monitors"] = monitors
    return out

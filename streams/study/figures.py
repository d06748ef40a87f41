"""The study's figures for the page: the report's own JSON, plus what the report JSON lacks.

The headline figures are `summarize()` of the increments of the same `Processor` that `hotline report`
runs, so without `--month` the page's numbers are `hotline report FILE --json` field for field (a test
checks it). What the report does not keep — tickets per month/day and per hour of the day, and the hot
issues of the period — comes from the same pass: the `tickets` increments (each carries the ticket's
received_at) and the enriched records (masked title and content of each ticket).

A month (`--month 2024-06`) is cut the way the live windows cut: each fact at the time it happened —
a ticket at received_at, a reply at replied_at, an evaluation at evaluated_at. The whole file is still
processed, so a June reply to a May ticket is known, and a July reply to a June ticket is not June's.
(`hotline report --since/--until` filters records by event_time instead; on a snapshot export that is
the ticket's *last* fact, which would move a June ticket replied on 2 July out of June.)

Everything below the pass is a pure function of plain data, tested on hand-made events.
"""
from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Iterable, Mapping

from streams.core.counting import REPLY_TYPES, add_into, fields_of
from streams.core.enrich import WORK_END_S, WORK_START_S
from streams.generate import calibration as published
from streams.core.pipeline import Processor
from streams.core.records import chunks, read_records
from streams.core.testing import MemoryPipeline
from streams.core.summary import summarize
from streams.text.hot import HotIssueTracker, parse_window

SHANGHAI = timezone(timedelta(hours=8), "Asia/Shanghai")
DAY = 86400
# A mean of fewer scores is not shown as a finding: scores are bimodal (sd about 1.6 on the 1–5 scale in
# the replica), so 30 scores leave a standard error near 0.3 — as large as the gap between most items.
MIN_EVALUATIONS = 30
HOT_TOP = 10
# The hot-issue tracker reads the first characters of a complaint (its own default is 300).
HOT_CONTENT_CHARS = 300


def local(ts: int) -> datetime:
    """Unix seconds -> naive Shanghai wall-clock time (the hotline's clock, and the tracker's)."""
    return datetime.fromtimestamp(ts, SHANGHAI).replace(tzinfo=None)


@dataclass(frozen=True, slots=True)
class Period:
    """Facts counted when since <= time < until (open ends: the whole file)."""
    label: str = "all"
    since: int | None = None
    until: int | None = None

    def __contains__(self, ts: int) -> bool:
        return (self.since is None or ts >= self.since) and (self.until is None or ts < self.until)


def month_period(text: str) -> Period:
    """'2024-06' -> the Shanghai calendar month."""
    m = re.fullmatch(r"\s*(\d{4})-(\d{1,2})\s*", text or "")
    if not m or not 1 <= int(m.group(2)) <= 12:
        raise ValueError(f"bad month {text!r}: use YYYY-MM, e.g. 2024-06")
    year, month = int(m.group(1)), int(m.group(2))
    start = datetime(year, month, 1, tzinfo=SHANGHAI)
    end = datetime(year + (month == 12), month % 12 + 1, 1, tzinfo=SHANGHAI)
    return Period(f"{year:04d}-{month:02d}", int(start.timestamp()), int(end.timestamp()))


@dataclass(slots=True)
class TimeProfile:
    """Tickets by received month, day and hour of the day (Shanghai)."""
    by_month: Counter = field(default_factory=Counter)
    by_day: Counter = field(default_factory=Counter)
    by_hour: list[int] = field(default_factory=lambda: [0] * 24)

    def add(self, received_at: int, n: int = 1) -> None:
        t = local(received_at)
        self.by_month[t.strftime("%Y-%m")] += n
        self.by_day[t.strftime("%Y-%m-%d")] += n
        self.by_hour[t.hour] += n

    @property
    def off_hours(self) -> int:
        return sum(n for h, n in enumerate(self.by_hour) if off_hour(h))


def off_hour(hour: int) -> bool:
    """An hour of the day inside the study's off-hours band (18:00–09:00), as streams.core.enrich counts it."""
    return not WORK_START_S <= hour * 3600 < WORK_END_S


@dataclass(frozen=True, slots=True)
class Text:
    """What the hot-issue tracker needs of one ticket (already masked by the cleaning step)."""
    received_at: int
    ticket_id: str
    title: str
    content: str


@dataclass(slots=True)
class StudyFigures:
    report: dict  # summarize() output, schema hotline.report/1
    period: Period
    live: bool = False
    times: TimeProfile | None = None  # None where unavailable (live)
    hot: list[dict] | None = None  # None where unavailable (live)
    hot_window: str = "30d"
    hot_window_end: str | None = None


class StudyPass:
    """One pass of the pipeline over records, keeping the period's counter fields, the received times
    of its tickets, and the texts the hot issues need. No I/O."""

    def __init__(self, processor: Processor, period: Period = Period(), hot_window: str = "30d"):
        if not processor.emit_records:
            raise ValueError("the study needs a Processor built with emit_records=True (it reads the ticket texts)")
        self.processor = processor
        self.period = period
        if period.since is not None and period.until is not None:  # a month's hot issues are the month's
            self.hot_span, self.hot_window = period.until - period.since, period.label
        else:
            self.hot_span, self.hot_window = int(parse_window(hot_window).total_seconds()), hot_window
        self.pipe = MemoryPipeline(processor, keep_outputs=False)  # the report's pipeline, states and all
        self.fields: dict[str, int] = {}
        self.times = TimeProfile()
        self.texts: list[Text] = []
        self._texted: set[str] = set()
        self._newest = 0
        self._pruned_at = 0

    def feed(self, batch: list[bytes]) -> None:
        result = self.pipe.feed_batch(batch)
        for inc in result.increments:
            if inc.at in self.period:
                add_into(self.fields, fields_of(inc))
                if inc.metrics.get("tickets"):
                    self.times.add(inc.at, inc.metrics["tickets"])
        for tid, rec in result.enriched:
            if rec["event"] in ("created", "snapshot") and tid not in self._texted:
                self._texted.add(tid)
                self._keep_text(Text(rec["received_at"], tid, rec["title"] or "",
                                     (rec["content"] or "")[:HOT_CONTENT_CHARS]))

    def _keep_text(self, t: Text) -> None:
        # Hot issues need the period's last window and the one before it (the trend); keep no more.
        if self.period.until is not None:
            if self.period.until - 2 * self.hot_span <= t.received_at < self.period.until:
                self.texts.append(t)
            return
        self.texts.append(t)
        self._newest = max(self._newest, t.received_at)
        if len(self.texts) > 2 * self._pruned_at + 10_000:
            cut = self._newest - 2 * self.hot_span
            self.texts = [x for x in self.texts if x.received_at >= cut]
            self._pruned_at = len(self.texts)

    def result(self, source: str) -> StudyFigures:
        whole = self.period.since is None and self.period.until is None
        # Overdue and rising as of the newest counted hour, as `hotline report` gives them: for the
        # whole file only (a month's page would need them as of the month's end).
        rep = summarize(self.fields, self.pipe.pipeline, source=source, window=self.period.label,
                        window_end=self.period.until,
                        monitors=self.pipe.series.report(self.pipe.fields) if whole else None)
        if self.period.until is not None:
            end = self.period.until
        else:
            end = max((t.received_at for t in self.texts), default=0) + 1
        hot = hot_issues(self.texts, end, self.hot_span) if self.texts else []
        return StudyFigures(rep, self.period, times=self.times, hot=hot, hot_window=self.hot_window,
                            hot_window_end=local(end - 1).isoformat(sep=" ") if self.texts else None)


def study_records(records: Iterable[bytes], processor: Processor, period: Period = Period(),
                  hot_window: str = "30d", source: str = "-") -> StudyFigures:
    sp = StudyPass(processor, period, hot_window)
    for batch in chunks(iter(records), 2000):
        sp.feed(batch)
    return sp.result(source)


def study_file(path: str, processor: Processor, period: Period = Period(), hot_window: str = "30d") -> StudyFigures:
    with open(path, "rb") as fh:
        return study_records(read_records(fh), processor, period, hot_window, source=path)


def hot_issues(texts: list[Text], end: int, span: int, top: int = HOT_TOP) -> list[dict]:
    """The hottest clusters of tickets received in [end - span, end), with their daily counts (the trend)
    and their count in the span before."""
    window = timedelta(seconds=span)
    tracker = HotIssueTracker(horizon=max(timedelta(days=30), 2 * window))
    assigned: list[tuple[int, int]] = []
    # The tracker costs about 1.4 ms a ticket (jieba + MinHash); only the window and the one before it
    # (the trend's baseline) are fed.
    for t in sorted(texts, key=lambda x: (x.received_at, x.ticket_id)):
        if not end - 2 * span <= t.received_at < end:
            continue
        assigned.append((tracker.add(t.ticket_id, local(t.received_at), t.title, t.content), t.received_at))
    rows = tracker.top(local(end - 1), window, top)
    first_day = local(end - span).date()
    days = [(first_day + timedelta(days=i)).isoformat() for i in range((local(end - 1).date() - first_day).days + 1)]
    wanted = {r["cluster_id"] for r in rows}
    daily: dict[int, Counter] = {cid: Counter() for cid in wanted}
    for cid, ts in assigned:
        if cid in wanted and end - span <= ts < end:
            daily[cid][local(ts).date().isoformat()] += 1
    for r in rows:
        r["daily"] = [daily[r["cluster_id"]][d] for d in days]
        r["days"] = [days[0], days[-1]] if days else []
        r.pop("message_ids", None)  # ticket ids do not belong on a published page
    return rows


# --- tables derived from the report JSON (pure) --------------------------------------------------------

def ranks(values: Mapping[str, float | None], descending: bool) -> dict[str, int | None]:
    """Competition ranking (1, 2, 2, 4); None values get no rank."""
    known = [v for v in values.values() if v is not None]
    out: dict[str, int | None] = {}
    for name, v in values.items():
        if v is None:
            out[name] = None
        else:
            out[name] = 1 + sum(1 for w in known if (w > v if descending else w < v))
    return out


def item_volume_rows(report: dict) -> list[dict]:
    """Items by volume with their share and the cumulative share; the 11 largest flagged."""
    rows, cum = [], 0
    tickets = report["tickets"] or 0
    for i, (name, row) in enumerate(report["by_item"].items()):
        cum += row["tickets"]
        rows.append({"item": name, "tickets": row["tickets"], "share": row["share"],
                     "cumulative_share": cum / tickets if tickets else None, "top11": i < 11})
    return rows


def evaluation_rows(breakdown: dict, min_evaluations: int = MIN_EVALUATIONS) -> list[dict]:
    """Evaluation rate and mean satisfaction per item (or channel); `few` marks means on too few scores."""
    return [{"name": name, "tickets": row["tickets"], "evaluated": row["evaluated"],
             "evaluation_rate": row["evaluation_rate"], "satisfaction_mean": row["satisfaction_mean"],
             "few": 0 < row["evaluated"] < min_evaluations}
            for name, row in breakdown.items()]


def scatter_points(report: dict) -> list[dict]:
    """Items with evaluations: volume against mean satisfaction (what the report's Spearman rho is over)."""
    return [{"item": name, "tickets": row["tickets"], "satisfaction_mean": row["satisfaction_mean"],
             "evaluated": row["evaluated"]}
            for name, row in report["by_item"].items() if row["evaluated"]]


def reply_type_rows(report: dict) -> list[dict]:
    """Reply types per item (items with replies), shares of the item's replies."""
    return [{"item": name, "replied": row["replied"], "reply_types": row["reply_types"],
             "shares": {t: row["reply_type_shares"][t] for t in REPLY_TYPES}}
            for name, row in report["by_item"].items() if row["replied"]]


def league_table(report: dict, min_evaluations: int = MIN_EVALUATIONS) -> list[dict]:
    """Districts with their rank by volume (1 = most tickets), mean response time (1 = fastest) and mean
    satisfaction (1 = best; unranked under `min_evaluations` scores), in volume order."""
    d = report["by_district"]
    vol = ranks({k: r["tickets"] for k, r in d.items()}, descending=True)
    resp = ranks({k: r["response_seconds_mean"] for k, r in d.items()}, descending=False)
    sat = ranks({k: r["satisfaction_mean"] if r["evaluated"] >= min_evaluations else None for k, r in d.items()},
                descending=True)
    return [{"district": k, "tickets": r["tickets"], "share": r["share"],
             "response_hours_mean": None if r["response_seconds_mean"] is None else r["response_seconds_mean"] / 3600,
             "evaluated": r["evaluated"], "satisfaction_mean": r["satisfaction_mean"],
             "few": r["evaluated"] < min_evaluations,
             "rank_volume": vol[k], "rank_response": resp[k], "rank_satisfaction": sat[k]}
            for k, r in d.items()]


def withdrawal_repeat_rows(report: dict) -> list[dict]:
    by_rule = report["repeat_by_rule"]
    t = report["tickets"]

    def rate(n: int) -> float | None:
        return n / t if t else None

    return [
        {"key": "withdrawn", "label": "撤件", "count": report["withdrawn"], "rate": report["withdrawal_rate"]},
        {"key": "repeat", "label": "重复投诉（平台标记）", "count": report["repeat"], "rate": report["repeat_rate"]},
        {"key": "repeat_by_rule.caller", "label": "重复来电（同一来电人）", "count": by_rule["caller"],
         "rate": rate(by_rule["caller"])},
        {"key": "repeat_by_rule.text", "label": "重复诉求（相同内容）", "count": by_rule["text"],
         "rate": rate(by_rule["text"])},
    ]


def comparison_rows(report: dict, min_evaluations: int = MIN_EVALUATIONS) -> list[dict]:
    """Each figure the Dongguan 2024 study published (as the generator's calibration records it) beside the
    same figure computed here. `kind` says how to format: share, count, mean, or text."""
    t = report["tickets"]
    items = report["by_item"]
    evaluated = {k: r for k, r in items.items() if r["evaluated"]}
    public = report["by_rights_claim"].get(published.PUBLIC_SERVICE_CLAIM, {}).get("share")
    enterprise = items.get(published.ENTERPRISE_ITEM, {}).get("satisfaction_mean")
    channels = [r["satisfaction_mean"] for r in report["by_channel"].values() if r["evaluated"] >= min_evaluations]
    spread = max(channels) - min(channels) if len(channels) >= 2 else None
    wr = report["withdrawn"] + report["repeat"]
    return [
        {"key": "tickets", "label": "受理工单", "kind": "count", "published": published.STUDY_TICKETS, "computed": t,
         "note": "东莞 2024 全年；仅全年数据可比"},
        {"key": "top11_items_share", "label": "前 11 大事项占比", "kind": "share",
         "published": published.TOP11_SHARE, "computed": report["top11_items_share"]},
        {"key": "public_service_share", "label": f"{published.PUBLIC_SERVICE_CLAIM}占比", "kind": "share",
         "published": published.PUBLIC_SERVICE_SHARE, "computed": public},
        {"key": "off_hours_share", "label": "非工作时间（18:00–09:00）受理占比", "kind": "share",
         "published": published.OFF_HOURS_SHARE, "computed": report["off_hours_share"]},
        {"key": "withdrawn_plus_repeat_rate", "label": "撤件与重复投诉占比", "kind": "share",
         "published": published.WITHDRAWN_PLUS_REPEAT / published.STUDY_TICKETS, "computed": wr / t if t else None,
         "note": f"研究：{published.WITHDRAWN_PLUS_REPEAT:,} 件 / {published.STUDY_TICKETS:,}；本数据：{wr:,} 件"},
        {"key": "evaluation_rate", "label": "评价率", "kind": "share", "published": published.EVALUATION_RATE,
         "computed": report["evaluation_rate"]},
        {"key": "satisfaction_mean", "label": "平均满意度（1–5）", "kind": "mean",
         "published": published.SATISFACTION_MEAN, "computed": report["satisfaction_mean"]},
        {"key": "evaluated_items", "label": "有评价的一级事项数", "kind": "count",
         "published": published.EVALUATED_ITEMS, "computed": report["evaluated_items"]},
        {"key": "items_at_or_above_2_9", "label": "平均满意度 ≥ 2.9 的事项数", "kind": "count",
         "published": published.ITEMS_AT_OR_ABOVE_2_9,
         "computed": sum(1 for r in evaluated.values() if r["satisfaction_mean"] >= 2.9)},
        {"key": f"by_item.{published.ENTERPRISE_ITEM}.satisfaction_mean", "label": f"{published.ENTERPRISE_ITEM}平均满意度",
         "kind": "mean", "published": "> 4", "computed": enterprise},
        {"key": "channel_satisfaction_spread", "label": "各渠道平均满意度极差", "kind": "mean",
         "published": f"≤ {published.CHANNEL_SATISFACTION_SPREAD}", "computed": spread,
         "note": f"评价 ≥ {min_evaluations} 的渠道"},
    ]

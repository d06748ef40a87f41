"""The study page: one self-contained HTML file (inline CSS and SVG, no script, no web font, no link out).

Chinese first, each figure's English key beside it (`off_hours_share`) so an analyst can find it in
`hotline report --json`. Each figure is a chart with its table beside it (stacked on a phone), and the
page prints on A4 (print CSS). Every text from the data goes through svg.esc().
"""
from __future__ import annotations

from datetime import datetime, timezone
from pathlib import PurePath
from typing import Callable, Iterable, Sequence

from streams.core.counting import REPLY_TYPES
from streams.study import figures as F
from streams.study.svg import Bar, Point, column_chart, esc, hbar_chart, scatter, sparkline, stacked_hbar
from streams.core.windows import window_resolution

REPLY_TYPE_ZH = {"onsite": "现场处置", "explanation": "解释说明", "both": "两者兼有", "neither": "均无"}
# A system CJK font first (Noto/Source Han on Linux, PingFang/Hiragino on Apple, YaHei on Windows), then
# the generic family: no web font, so nothing is fetched and the page stays small.
FONT_STACK = ('"Noto Sans CJK SC", "Source Han Sans SC", "PingFang SC", "Hiragino Sans GB", "Microsoft YaHei", '
              '"WenQuanYi Zen Hei", "Noto Sans SC", system-ui, sans-serif')

CSS = """
:root{--ink:#1f2933;--muted:#616e7c;--line:#d9dee4;--bg:#f3f5f8;--main:#1565c0;--warn:#b26a00}
*{box-sizing:border-box}
body{margin:0;font-family:%(font)s;color:var(--ink);background:var(--bg);line-height:1.5;
 -webkit-text-size-adjust:100%%}
main{max-width:1180px;margin:0 auto;padding:12px 14px 40px}
header{background:#0d47a1;color:#fff;padding:18px 14px 14px}
header .in{max-width:1180px;margin:0 auto}
header h1{margin:0;font-size:1.5em;font-weight:700}
header p{margin:4px 0 0;opacity:.9;font-size:.9em}
header code.key{background:rgba(255,255,255,.18);color:#fff}
h2{font-size:1.15em;margin:0 0 10px}
code.key{font-family:ui-monospace,"DejaVu Sans Mono",monospace;font-size:.7em;color:var(--muted);background:#eef2f6;
 padding:1px 5px;border-radius:3px;font-weight:400;white-space:nowrap}
.kpis{display:grid;grid-template-columns:repeat(auto-fit,minmax(128px,1fr));gap:10px;margin:12px 0}
.kpi{background:#fff;border:1px solid var(--line);border-radius:6px;padding:8px 12px}
.kpi .l{font-size:.85em;color:var(--muted)}
.kpi .v{font-size:1.55em;font-weight:700;line-height:1.2}
.kpi .s{font-size:.75em;color:var(--muted)}
.kpi code.key{display:block;width:max-content;max-width:100%%;overflow:hidden;text-overflow:ellipsis;margin-top:1px}
nav{font-size:.85em;margin:6px 0 0}
nav a{color:#fff;opacity:.85;text-decoration:none;margin-right:10px;white-space:nowrap}
section{background:#fff;border:1px solid var(--line);border-radius:6px;padding:14px 16px;margin:14px 0}
.fig{display:grid;grid-template-columns:minmax(0,3fr) minmax(0,2fr);gap:18px;align-items:start}
.chart svg{display:block;max-width:100%%;height:auto}
.fig.stack{grid-template-columns:1fr}
.fig.stack .chart svg{max-width:680px}
.tbl{overflow:auto;max-height:460px}
table{border-collapse:collapse;width:100%%;font-size:13px;font-variant-numeric:tabular-nums}
th,td{padding:3px 6px;border-bottom:1px solid var(--line);text-align:right;white-space:nowrap}
th{background:#f7f9fb;position:sticky;top:0;font-weight:600}
th small{display:block;font-weight:400;color:var(--muted);font-family:ui-monospace,monospace;font-size:.8em}
th:first-child,td:first-child{text-align:left}
td svg{vertical-align:middle;margin-right:4px}
td.t{white-space:normal;min-width:12em;text-align:left}
.few{color:var(--warn)}
.note{font-size:.85em;color:var(--muted);margin:8px 0 0}
.na{background:#fff8e1;border:1px dashed #e0b252;padding:10px 12px;border-radius:6px;font-size:.9em}
.up{color:#c62828}.down{color:#2e7d32}
footer{font-size:.8em;color:var(--muted);text-align:center;margin-top:20px}
@media (max-width:760px){
 .fig{grid-template-columns:1fr}
 .chart{overflow-x:auto}
 .chart svg{min-width:420px}
 header h1{font-size:1.25em}
 main{padding:8px}
 section{padding:10px}
}
@media print{
 @page{size:A4;margin:12mm}
 body{background:#fff;font-size:11px}
 header{background:#fff;color:var(--ink);border-bottom:2px solid var(--ink);padding:0 0 6px}
 header code.key{background:#eef2f6;color:var(--muted)}
 nav{display:none}
 section{border:none;border-top:1px solid var(--line);border-radius:0;padding:8px 0;margin:8px 0}
 .fig{grid-template-columns:minmax(0,3fr) minmax(0,2fr);gap:10px}
 .fig.stack{grid-template-columns:1fr}
 .fig.stack .chart svg{max-width:60%%}
 .chart{overflow:visible}
 .chart svg{min-width:0}
 .kpis{grid-template-columns:repeat(4,1fr)}
 .tbl{max-height:none;overflow:visible}
 table{font-size:10px}
 th,td{padding:1px 4px}
 th{position:static}
 .chart,.kpi,tr{break-inside:avoid}
 h2{break-after:avoid}
}
""" % {"font": FONT_STACK}


# --- formatting ----------------------------------------------------------------------------------------

def pct(x: float | None, nd: int = 1) -> str:
    return "—" if x is None else f"{100 * x:.{nd}f}%"


def num(n: int | float | None) -> str:
    return "—" if n is None else f"{n:,}"


def mean(x: float | None, nd: int = 2) -> str:
    return "—" if x is None else f"{x:.{nd}f}"


def hours(seconds: float | None) -> str:
    return "—" if seconds is None else f"{seconds / 3600:.1f} h"


def key(k: str) -> str:
    return f'<code class="key">{esc(k)}</code>'


def th(zh: str, en: str) -> str:
    return f"<th>{esc(zh)}<small>{esc(en)}</small></th>"


def table(headers: Sequence[tuple[str, str]], rows: Iterable[Sequence[str]], raw_cols: frozenset[int] = frozenset(),
          row_class: Callable[[int], str] | None = None) -> str:
    """Cells are escaped, except the columns in raw_cols (already-safe markup such as a sparkline)."""
    head = "".join(th(z, e) for z, e in headers)
    body = []
    for i, row in enumerate(rows):
        cls = row_class(i) if row_class else ""
        cells = "".join(f"<td>{c}</td>" if j in raw_cols else (f'<td class="t">{esc(c)}</td>' if j == 0 and len(str(c)) > 16
                        else f"<td>{esc(c)}</td>") for j, c in enumerate(row))
        body.append(f'<tr class="{cls}">{cells}</tr>' if cls else f"<tr>{cells}</tr>")
    return f'<div class="tbl"><table><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table></div>'


def section(sid: str, title: str, keys: str, chart: str, tbl: str, note: str = "", stack: bool = False) -> str:
    """A figure: chart and table side by side (stacked on a phone, or always when the table is wide)."""
    note_html = f'<p class="note">{note}</p>' if note else ""
    return (f'<section id="{sid}"><h2>{esc(title)} {key(keys)}</h2>'
            f'<div class="fig{" stack" if stack else ""}"><div class="chart">{chart}</div>{tbl}</div>{note_html}</section>')


def unavailable(sid: str, title: str, keys: str, why: str) -> str:
    return (f'<section id="{sid}" class="unavailable"><h2>{esc(title)} {key(keys)}</h2>'
            f'<p class="na">此图在实时快照中不可用 <code class="key">unavailable live</code>：{esc(why)}</p></section>')


# --- sections ------------------------------------------------------------------------------------------

def kpis(rep: dict) -> str:
    cards = [
        ("受理工单", "tickets", num(rep["tickets"]), f"答复 {num(rep['replied'])} 件"),
        ("非工作时间受理", "off_hours_share", pct(rep["off_hours_share"]), "18:00–09:00"),
        ("前 11 大事项占比", "top11_items_share", pct(rep["top11_items_share"]), f"共 {len(rep['by_item'])} 个事项"),
        ("评价率", "evaluation_rate", pct(rep["evaluation_rate"]), f"评价 {num(rep['evaluated'])} 件"),
        ("平均满意度", "satisfaction_mean", mean(rep["satisfaction_mean"]), "1–5 分"),
        ("平均答复时长", "response_seconds_mean", hours(rep["response_seconds_mean"]), "受理 → 答复"),
        ("撤件率", "withdrawal_rate", pct(rep["withdrawal_rate"], 2), f"{num(rep['withdrawn'])} 件"),
        ("重复投诉率", "repeat_rate", pct(rep["repeat_rate"], 2), f"{num(rep['repeat'])} 件"),
    ]
    return '<div class="kpis">' + "".join(
        f'<div class="kpi"><div class="l">{esc(l)} {key(k)}</div><div class="v">{esc(v)}</div>'
        f'<div class="s">{esc(s)}</div></div>' for l, k, v, s in cards) + "</div>"


def volume_over_time(fig: F.StudyFigures) -> str:
    t = fig.times
    by_day = fig.period.until is not None  # a month: per day; the whole file: per month
    counts = t.by_day if by_day else t.by_month
    labels = sorted(counts)
    values = [counts[k] for k in labels]
    total = sum(values)
    short = [k[8:] if by_day else k[2:] for k in labels]
    chart = column_chart(short, values, title="受理量" + ("（按日）" if by_day else "（按月）"), fmt=lambda v: f"{v:,.0f}",
                         label_every=max(1, len(labels) // 12))
    tbl = table([("日期" if by_day else "月份", "day" if by_day else "month"), ("工单", "tickets"), ("占比", "share")],
                [(k, num(v), pct(v / total if total else None)) for k, v in zip(labels, values)])
    return section("volume", "受理量" + ("（按日）" if by_day else "（按月）"),
                   "tickets_by_day" if by_day else "tickets_by_month", chart, tbl,
                   "按受理时间（上海时间）计。")


def volume_by_hour(fig: F.StudyFigures) -> str:
    hrs = fig.times.by_hour
    total = sum(hrs)
    chart = column_chart([f"{h}" for h in range(24)], hrs, title="受理量（按时段）", fmt=lambda v: f"{v:,.0f}",
                         bands=[(0, 9, "非工作时间"), (18, 24, "非工作时间")], label_every=3)
    tbl = table([("时段", "hour"), ("工单", "tickets"), ("占比", "share"), ("非工作时间", "off_hours")],
                [(f"{h:02d}:00", num(n), pct(n / total if total else None), "是" if F.off_hour(h) else "")
                 for h, n in enumerate(hrs)])
    return section("hours", "受理时段", "tickets_by_hour · off_hours_share", chart, tbl,
                   f"阴影为非工作时间 18:00–09:00：{num(fig.times.off_hours)} 件，占 {pct(fig.report['off_hours_share'])}。")


def top_items(rep: dict) -> str:
    rows = F.item_volume_rows(rep)
    chart = hbar_chart([Bar(r["item"], r["share"], "main" if r["top11"] else "pale") for r in rows],
                       title="事项占比", fmt=lambda v: pct(v))
    tbl = table([("事项", "item"), ("工单", "tickets"), ("占比", "share"), ("累计", "cumulative")],
                [(r["item"], num(r["tickets"]), pct(r["share"]), pct(r["cumulative_share"])) for r in rows],
                row_class=lambda i: "" if rows[i]["top11"] else "few")
    return section("items", "前 11 大事项及其占比", "top11_items_share · by_item.share", chart, tbl,
                   f"深色为受理量最大的 11 个一级事项，合计 {pct(rep['top11_items_share'])}。")


def live_dimensions(window: str) -> frozenset | None:
    """The dimensions a live window's buckets break down by (None: every dimension)."""
    res = window_resolution(window)
    return None if res is None else res.dimensions


def rights(rep: dict, live_window: str | None) -> str:
    dims = live_dimensions(live_window) if live_window else None
    if dims is not None and "rights" not in dims:
        return unavailable("rights", "权益诉求", "by_rights_claim",
                           f"{live_window} 窗口的计数桶只按事项、渠道、镇街细分（用 30d 或 all 窗口）。")
    d = rep["by_rights_claim"]
    chart = hbar_chart([Bar(k, r["share"]) for k, r in d.items()], title="权益诉求占比", fmt=lambda v: pct(v))
    tbl = table([("权益诉求", "rights_claim"), ("工单", "tickets"), ("占比", "share"), ("满意度", "satisfaction_mean")],
                [(k, num(r["tickets"]), pct(r["share"]), mean(r["satisfaction_mean"])) for k, r in d.items()])
    return section("rights", "权益诉求", "by_rights_claim", chart, tbl)


def withdrawals(rep: dict) -> str:
    rows = F.withdrawal_repeat_rows(rep)
    chart = hbar_chart([Bar(r["label"], r["count"], "accent" if r["key"] == "withdrawn" else "main") for r in rows],
                       title="撤件与重复投诉", fmt=lambda v: f"{v:,.0f}")
    tbl = table([("类别", "kind"), ("键", "key"), ("工单", "count"), ("占比", "rate")],
                [(r["label"], r["key"], num(r["count"]), pct(r["rate"], 2)) for r in rows])
    return section("withdrawals", "撤件与重复投诉", "withdrawal_rate · repeat_rate · repeat_by_rule", chart, tbl,
                   "平台标记的重复投诉（repeat_of）之外，另按同一来电人与相同内容在 30 天内识别重复。")


def satisfaction(sid: str, title: str, keys: str, name_zh: str, name_en: str, breakdown: dict,
                 overall: float | None) -> str:
    rows = F.evaluation_rows(breakdown)
    rated = [r for r in rows if r["evaluated"]]
    bars = [Bar(r["name"], r["satisfaction_mean"], "pale" if r["few"] else "main") for r in rated]
    chart = hbar_chart(bars, title=title, fmt=lambda v: f"{v:.2f}", ticks=[0, 1, 2, 3, 4, 5],
                       ref=(overall, f"总体 {overall:.2f}") if overall is not None else None)
    tbl = table([(name_zh, name_en), ("工单", "tickets"), ("评价", "evaluated"), ("评价率", "evaluation_rate"),
                 ("满意度", "satisfaction_mean")],
                [(r["name"] + (" ⚠" if r["few"] else ""), num(r["tickets"]), num(r["evaluated"]),
                  pct(r["evaluation_rate"]), mean(r["satisfaction_mean"])) for r in rows],
                row_class=lambda i: "few" if rows[i]["few"] else "")
    few = sum(r["few"] for r in rows)
    unrated = len(rows) - len(rated)
    return section(sid, title, keys, chart, tbl,
                   f"⚠ 浅色：评价少于 {F.MIN_EVALUATIONS} 条（{few} 个），均值不宜解读；无评价的 {unrated} 个未画出。"
                   f"虚线为总体平均满意度。")


def volume_vs_satisfaction(rep: dict) -> str:
    pts = F.scatter_points(rep)
    sp = rep["volume_satisfaction_spearman"]
    chart = scatter([Point(p["item"], p["tickets"], p["satisfaction_mean"],
                           "pale" if p["evaluated"] < F.MIN_EVALUATIONS else "main") for p in pts],
                    title="受理量与满意度", x_label="受理量（对数）tickets", y_label="满意度")
    tbl = table([("事项", "item"), ("工单", "tickets"), ("满意度", "satisfaction_mean"), ("评价", "evaluated")],
                [(p["item"], num(p["tickets"]), mean(p["satisfaction_mean"]), num(p["evaluated"])) for p in pts])
    return section("scatter", "受理量与满意度", "volume_satisfaction_spearman", chart, tbl,
                   f"Spearman ρ = {mean(sp['rho'], 3)}，p = {mean(sp['p'], 3)}，事项数 {sp['items']}"
                   f"（有评价的事项）。")


def reply_types(rep: dict) -> str:
    rows = F.reply_type_rows(rep)
    series = [REPLY_TYPE_ZH[t] for t in REPLY_TYPES]
    chart = stacked_hbar([(r["item"], [r["shares"][t] for t in REPLY_TYPES]) for r in rows], series,
                         title="各事项答复类型")
    tbl = table([("事项", "item"), ("答复", "replied")] + [(REPLY_TYPE_ZH[t], t) for t in REPLY_TYPES],
                [[r["item"], num(r["replied"])] + [pct(r["shares"][t]) for t in REPLY_TYPES] for r in rows])
    overall = " · ".join(f"{REPLY_TYPE_ZH[t]} {pct(rep['reply_type_shares'][t])}" for t in REPLY_TYPES)
    return section("replies", "各事项答复类型", "by_item.reply_type_shares", chart, tbl, f"全部答复：{esc(overall)}。",
                   stack=True)


def hot(fig: F.StudyFigures) -> str:
    rows = fig.hot or []
    chart = hbar_chart([Bar(r["title"], r["count"], "accent" if r["count"] > r["count_previous_window"] else "main")
                        for r in rows], title="热点诉求", fmt=lambda v: f"{v:,.0f}")

    def trend(r: dict) -> str:
        diff = r["count"] - r["count_previous_window"]
        arrow = f'<span class="up">↑{diff}</span>' if diff > 0 else (
            f'<span class="down">↓{-diff}</span>' if diff < 0 else "→")
        return sparkline(r["daily"], title=f"{r['title']} 每日受理") + arrow

    tbl = table([("热点", "title"), ("关键词", "key_terms"), ("本期", "count"), ("上期", "previous"), ("趋势", "trend")],
                [(r["title"], " ".join(r["key_terms"][:5]), num(r["count"]), num(r["count_previous_window"]), trend(r))
                 for r in rows], raw_cols=frozenset({4}))
    span = fig.period.label if fig.period.until is not None else f"最近 {fig.hot_window}"
    return section("hot", "本期热点诉求", "hot_issues", chart, tbl,
                   f"相似诉求聚类（streams/text/hot.py），期间：{esc(span)}，截至 {esc(fig.hot_window_end or '—')}；"
                   f"趋势为每日受理量，箭头为与上一同长期间相比。红色：较上期上升。", stack=True)


def league(rep: dict) -> str:
    rows = F.league_table(rep)
    by_resp = sorted((r for r in rows if r["response_hours_mean"] is not None), key=lambda r: r["rank_response"])
    chart = hbar_chart([Bar(r["district"], r["response_hours_mean"]) for r in by_resp],
                       title="镇街平均答复时长（小时）", fmt=lambda v: f"{v:.1f}")
    tbl = table([("镇街", "district"), ("工单", "tickets"), ("量排名", "rank_volume"), ("答复时长", "response_hours"),
                 ("时效排名", "rank_response"), ("评价", "evaluated"), ("满意度", "satisfaction_mean"),
                 ("满意度排名", "rank_satisfaction")],
                [(r["district"] + (" ⚠" if r["few"] else ""), num(r["tickets"]), num(r["rank_volume"]),
                  mean(r["response_hours_mean"], 1), num(r["rank_response"]), num(r["evaluated"]),
                  mean(r["satisfaction_mean"]), num(r["rank_satisfaction"])) for r in rows])
    return section("league", "镇街排行榜", "by_district", chart, tbl,
                   f"按受理量排序；时效排名 1 = 最快；满意度排名只排评价 ≥ {F.MIN_EVALUATIONS} 条的镇街（⚠ 为不足）。",
                   stack=True)


def comparison(rep: dict) -> str:
    rows = F.comparison_rows(rep)

    def fmt(kind: str, v) -> str:
        if v is None or isinstance(v, str):
            return "—" if v is None else v
        return {"share": pct(v, 2), "count": num(v), "mean": mean(v)}[kind]

    def diff(r: dict) -> str:
        p, c = r["published"], r["computed"]
        if isinstance(p, str) or p is None or c is None or r["key"] == "tickets":
            return ""
        d = c - p
        if r["kind"] == "share":
            return f"{round(100 * d, 2) + 0.0:+.2f} 个百分点"  # + 0.0: no "-0.00"
        return f"{d:+,}" if r["kind"] == "count" else f"{round(d, 2) + 0.0:+.2f}"

    body = "".join(
        f"<tr><td>{esc(r['label'])}</td><td><code class=\"key\">{esc(r['key'])}</code></td>"
        f"<td>{esc(fmt(r['kind'], r['published']))}</td><td>{esc(fmt(r['kind'], r['computed']))}</td>"
        f"<td>{esc(diff(r))}</td><td class=\"t\">{esc(r.get('note', ''))}</td></tr>" for r in rows)
    head = "".join(th(z, e) for z, e in [("指标", "figure"), ("键", "key"), ("东莞 2024 研究", "published"),
                                          ("本数据", "computed"), ("差", "difference"), ("说明", "note")])
    return (f'<section id="compare"><h2>本数据与东莞 2024 年研究对比 {key("study_comparison")}</h2>'
            f'<div class="tbl"><table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>'
            f'<p class="note">研究数值取自生成器的校准文件 streams/generate/calibration.py。</p></section>')


def data_notes(fig: F.StudyFigures) -> str:
    rep = fig.report
    reasons = ", ".join(f"{k} {v:,}" for k, v in rep["rejected_by_reason"].items()) or "无"
    lines = [
        f"来源 <code class=\"key\">source</code>：{esc(rep['source'])}",
        f"记录 <code class=\"key\">records</code> {num(rep['records'])}，计入事件 {num(rep['events_counted'])}，"
        f"拒收 <code class=\"key\">rejected</code> {num(rep['rejected'])}（{esc(reasons)}）"
        + ("——按整个文件计。" if fig.period.until is not None and not fig.live else "。"),
        "每项事实按其发生时间计入：工单按受理时间，答复按答复时间，评价按评价时间（与实时窗口相同）。",
        "非工作时间：18:00:00–08:59:59（上海时间）。评价率 = 评价数 / 受理工单数。",
    ]
    if fig.live:
        lines.append(f"实时计数窗口 <code class=\"key\">window</code> {esc(rep['window'])}，"
                     f"窗口截至 {esc(_when(rep['window_end']))}；迟到事件 <code class=\"key\">late</code> {num(rep['late'])}。")
    return '<section id="notes"><h2>数据说明 ' + key("notes") + "</h2>" + "".join(f'<p class="note">{x}</p>' for x in lines) + "</section>"


def _when(ts: int | None) -> str:
    return "—" if ts is None else F.local(ts).isoformat(sep=" ")


NAV = [("volume", "受理量"), ("hours", "时段"), ("items", "事项"), ("rights", "权益"), ("withdrawals", "撤件与重复"),
       ("sat-items", "事项满意度"), ("sat-channels", "渠道满意度"), ("scatter", "量与满意度"), ("replies", "答复类型"),
       ("hot", "热点"), ("league", "镇街排行"), ("compare", "研究对比"), ("notes", "说明")]


def render(fig: F.StudyFigures, generated_at: datetime | None = None) -> str:
    rep = fig.report
    live_window = rep["window"] if fig.live else None
    if fig.live:
        period = f"实时快照 · 窗口 {rep['window']}"
        why_times = "计数器按时间桶累计，不保存每张工单的受理时刻（按月、按时段分布请对导出文件运行 hotline study FILE）。"
        sections = [unavailable("volume", "受理量（按月）", "tickets_by_month", why_times),
                    unavailable("hours", "受理时段", "tickets_by_hour", why_times)]
    else:
        period = "全部数据" if fig.period.until is None else f"{fig.period.label} 月"
        sections = [volume_over_time(fig), volume_by_hour(fig)]
    sections += [
        top_items(rep), rights(rep, live_window), withdrawals(rep),
        satisfaction("sat-items", "各事项评价率与满意度", "by_item.evaluation_rate · satisfaction_mean", "事项", "item",
                     rep["by_item"], rep["satisfaction_mean"]),
        satisfaction("sat-channels", "各渠道评价率与满意度", "by_channel", "渠道", "channel", rep["by_channel"],
                     rep["satisfaction_mean"]),
        volume_vs_satisfaction(rep), reply_types(rep),
        unavailable("hot", "本期热点诉求", "hot_issues",
                    "计数器不保存诉求文本；实时热点由 hotline hotspots 进程计算，用 hotline hot-live 查看。")
        if fig.live else hot(fig),
        league(rep), comparison(rep), data_notes(fig),
    ]
    when = (generated_at or datetime.now(timezone.utc)).astimezone(F.SHANGHAI).strftime("%Y-%m-%d %H:%M")
    nav = "".join(f'<a href="#{sid}">{esc(label)}</a>' for sid, label in NAV)
    return (
        '<!doctype html>\n<html lang="zh-CN"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>12345 热线诉求分析 · {esc(period)}</title><style>{CSS}</style></head><body>"
        f'<header><div class="in"><h1>12345 热线诉求分析报告</h1>'
        f"<p>{esc(period)} · 来源 {esc(PurePath(rep['source']).name)} · 生成于 {esc(when)}（上海时间） {key(rep['schema'])}</p>"
        f"<nav>{nav}</nav></div></header>"
        f"<main>{kpis(rep)}{''.join(sections)}"
        "<footer>hotline-streams · hotline study · 图表为服务器端生成的内联 SVG，离线可读</footer></main></body></html>\n")

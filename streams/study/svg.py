"""A small pure-SVG chart writer: horizontal bars, columns with shaded bands, stacked bars, scatter, sparkline.

Every chart is a string of inline SVG drawn on the server, so the page opens anywhere without a script or a
CDN. Every text goes through `esc()`: labels come from ticket data (district names are free text in the
contract), so they may hold markup or characters XML forbids. Charts scale with their container (viewBox,
width 100 %); fonts are inherited from the page.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Callable, Sequence

SVG_NS = "http://www.w3.org/2000/svg"
INK = "#1f2933"
MUTED_INK = "#616e7c"
GRID = "#d9dee4"
MAIN = "#1565c0"
ACCENT = "#c62828"
PALE = "#9fb3c8"
BAND = "#fff3cd"
SERIES = ("#1565c0", "#2e7d32", "#f9a825", "#8e99a4", "#6a1b9a", "#c62828")

# XML 1.0 forbids C0 controls (but tab, newline, carriage return), surrogates and U+FFFE/U+FFFF.
_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def esc(text: object) -> str:
    """Text or attribute value, safe in XML and HTML: invalid characters dropped, markup escaped."""
    s = _XML_INVALID.sub("", str(text))
    return (s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace('"', "&quot;").replace("'", "&#39;"))


def text_width(text: str, size: float) -> float:
    """Rendered width estimate: CJK and full-width characters take an em, others about 0.6 em."""
    return sum(size if ord(c) > 0x2E7F else 0.6 * size for c in text)


def clip(text: str, size: float, width: float) -> str:
    """Cut a label to a width, with an ellipsis (a hostile 64-character district must not eat the chart)."""
    if text_width(text, size) <= width:
        return text
    out = ""
    for c in text:
        if text_width(out + c + "…", size) > width:
            break
        out += c
    return out + "…"


def nice_ticks(top: float, n: int = 4) -> list[float]:
    """Round axis ticks from 0 to at least `top`."""
    if top <= 0 or not math.isfinite(top):
        return [0.0, 1.0]
    raw = top / n
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    return [i * step for i in range(int(math.ceil(top / step - 1e-9)) + 1)]


def _num(x: float) -> str:
    return f"{x:.1f}".rstrip("0").rstrip(".") if x != int(x) else str(int(x))


class Canvas:
    """Collects SVG elements; numbers rounded to 0.1 to keep the page small."""

    def __init__(self, width: float, height: float, title: str):
        self.width, self.height, self.title = width, height, title
        self.parts: list[str] = []

    def rect(self, x: float, y: float, w: float, h: float, fill: str, tip: str | None = None) -> None:
        attrs = f'x="{_num(x)}" y="{_num(y)}" width="{_num(max(w, 0))}" height="{_num(max(h, 0))}" fill="{fill}"'
        self.parts.append(f"<rect {attrs}><title>{esc(tip)}</title></rect>" if tip else f"<rect {attrs}/>")

    def line(self, x1: float, y1: float, x2: float, y2: float, stroke: str = GRID, extra: str = "") -> None:
        self.parts.append(f'<line x1="{_num(x1)}" y1="{_num(y1)}" x2="{_num(x2)}" y2="{_num(y2)}" '
                          f'stroke="{stroke}"{extra}/>')

    def circle(self, x: float, y: float, r: float, fill: str, tip: str | None = None) -> None:
        inner = f"<title>{esc(tip)}</title>" if tip else ""
        self.parts.append(f'<circle cx="{_num(x)}" cy="{_num(y)}" r="{_num(r)}" fill="{fill}" fill-opacity="0.8">'
                          f'{inner}</circle>')

    def polyline(self, points: Sequence[tuple[float, float]], stroke: str, width: float = 1.5) -> None:
        pts = " ".join(f"{_num(x)},{_num(y)}" for x, y in points)
        self.parts.append(f'<polyline points="{pts}" fill="none" stroke="{stroke}" stroke-width="{width}"/>')

    def text(self, x: float, y: float, s: str, size: float = 12, anchor: str = "start", fill: str = INK,
             extra: str = "") -> None:
        self.parts.append(f'<text x="{_num(x)}" y="{_num(y)}" font-size="{_num(size)}" text-anchor="{anchor}" '
                          f'fill="{fill}"{extra}>{esc(s)}</text>')

    def render(self, fixed: bool = False) -> str:
        """Scale with the container, or (fixed) keep the drawn size, as a sparkline inside a table cell does."""
        size = f'width="{_num(self.width)}" height="{_num(self.height)}"' if fixed else 'width="100%"'
        return (f'<svg xmlns="{SVG_NS}" viewBox="0 0 {_num(self.width)} {_num(self.height)}" {size} '
                f'role="img" preserveAspectRatio="xMinYMin meet"><title>{esc(self.title)}</title>'
                + "".join(self.parts) + "</svg>")


@dataclass(frozen=True, slots=True)
class Bar:
    label: str
    value: float | None
    style: str = "main"  # main | accent | pale (e.g. a mean on too few scores)


_BAR_FILL = {"main": MAIN, "accent": ACCENT, "pale": PALE}


def hbar_chart(bars: Sequence[Bar], *, title: str, fmt: Callable[[float], str], width: float = 560,
               ref: tuple[float, str] | None = None, ticks: Sequence[float] | None = None) -> str:
    """Horizontal bars, one row per label, value printed at the bar's end; `ref` draws a dashed reference line."""
    size, row = 12, 20
    label_w = min(max((text_width(b.label, size) for b in bars), default=0) + 8, width * 0.34)
    plot_x, plot_w = label_w + 4, width - label_w - 4 - 64
    head = 22 if ref else 6
    height = head + row * max(len(bars), 1) + 22
    values = [b.value for b in bars if b.value is not None]
    ticks = list(ticks or nice_ticks(max(values + [ref[0] if ref else 0, 0]) or 1.0))
    scale = plot_w / ticks[-1]
    c = Canvas(width, height, title)
    for t in ticks:
        x = plot_x + t * scale
        c.line(x, head, x, height - 20)
        c.text(x, height - 6, fmt(t), 10, "middle", MUTED_INK)
    for i, b in enumerate(bars):
        y = head + i * row
        c.text(label_w, y + 14, clip(b.label, size, label_w - 4), size, "end")
        if b.value is None:
            c.text(plot_x + 4, y + 14, "—", size, fill=MUTED_INK)
            continue
        w = b.value * scale
        c.rect(plot_x, y + 3, w, row - 6, _BAR_FILL.get(b.style, MAIN))
        c.text(plot_x + w + 4, y + 14, fmt(b.value), 11, fill=INK)
    if not bars:
        c.text(plot_x, head + 14, "无数据", size, fill=MUTED_INK)
    if ref:
        x = plot_x + ref[0] * scale
        c.line(x, head - 4, x, height - 20, ACCENT, ' stroke-dasharray="4 3" stroke-width="1.5"')
        c.text(x, head - 8, ref[1], 10, "middle", ACCENT)
    return c.render()


def column_chart(labels: Sequence[str], values: Sequence[float], *, title: str, fmt: Callable[[float], str],
                 bands: Sequence[tuple[int, int, str]] = (), width: float = 560, height: float = 220,
                 label_every: int = 1) -> str:
    """Vertical columns; `bands` = (first index, last index + 1, caption) shaded behind the columns."""
    left, right, top_pad, bottom = 44, 8, 18, 30
    plot_w, plot_h = width - left - right, height - top_pad - bottom
    n = max(len(values), 1)
    step = plot_w / n
    ticks = nice_ticks(max(list(values) + [0]) or 1)
    scale = plot_h / ticks[-1]
    base = top_pad + plot_h
    c = Canvas(width, height, title)
    for first, last, caption in bands:
        c.rect(left + first * step, top_pad, (last - first) * step, plot_h, BAND)
        c.text(left + (first + last) / 2 * step, top_pad - 5, caption, 10, "middle", "#8a6d3b")
    for t in ticks:
        y = base - t * scale
        c.line(left, y, width - right, y)
        c.text(left - 4, y + 4, fmt(t), 10, "end", MUTED_INK)
    for i, v in enumerate(values):
        h = v * scale
        c.rect(left + i * step + step * 0.12, base - h, step * 0.76, h, MAIN, f"{labels[i]}: {fmt(v)}")
    for i, lab in enumerate(labels):
        if i % label_every == 0:
            c.text(left + (i + 0.5) * step, base + 14, lab, 10, "middle", MUTED_INK)
    if not values:
        c.text(left + 8, top_pad + 20, "无数据", 12, fill=MUTED_INK)
    return c.render()


def stacked_hbar(rows: Sequence[tuple[str, Sequence[float | None]]], series: Sequence[str], *, title: str,
                 width: float = 560) -> str:
    """One 100 % bar per row, split into the series' shares; legend on top."""
    size, row, head = 12, 20, 26
    label_w = min(max((text_width(r[0], size) for r in rows), default=0) + 8, width * 0.34)
    plot_x, plot_w = label_w + 4, width - label_w - 12
    height = head + row * max(len(rows), 1) + 6
    c = Canvas(width, height, title)
    x = plot_x
    for k, name in enumerate(series):
        c.rect(x, 6, 10, 10, SERIES[k % len(SERIES)])
        c.text(x + 14, 15, name, 11)
        x += 14 + text_width(name, 11) + 14
    for i, (label, shares) in enumerate(rows):
        y = head + i * row
        c.text(label_w, y + 14, clip(label, size, label_w - 4), size, "end")
        x = plot_x
        for k, s in enumerate(shares):
            w = (s or 0) * plot_w
            c.rect(x, y + 3, w, row - 6, SERIES[k % len(SERIES)], f"{label} · {series[k]}: {100 * (s or 0):.1f}%")
            x += w
    if not rows:
        c.text(plot_x, head + 14, "无数据", size, fill=MUTED_INK)
    return c.render()


@dataclass(frozen=True, slots=True)
class Point:
    label: str
    x: float
    y: float
    style: str = "main"


def scatter(points: Sequence[Point], *, title: str, x_label: str, y_label: str, log_x: bool = True,
            width: float = 560, height: float = 320, y_range: tuple[float, float] = (1, 5),
            labelled: int = 5) -> str:
    """x against y; log x for volumes that span two orders of magnitude. The `labelled` largest-x points
    and the two highest and lowest y carry their label (all of them would overlap)."""
    left, right, top_pad, bottom = 44, 12, 12, 40
    plot_w, plot_h = width - left - right, height - top_pad - bottom
    xs = [p.x for p in points if p.x > 0 or not log_x]
    fx = (lambda v: math.log10(v)) if log_x else (lambda v: v)
    if xs:
        lo, hi = fx(min(xs)), fx(max(xs))
        if log_x:
            lo, hi = math.floor(lo), math.ceil(hi)
    else:
        lo, hi = 0.0, 1.0
    if hi <= lo:
        hi = lo + 1
    y0, y1 = y_range
    c = Canvas(width, height, title)

    def px(v: float) -> float:
        return left + (fx(v) - lo) / (hi - lo) * plot_w

    def py(v: float) -> float:
        return top_pad + (y1 - v) / (y1 - y0) * plot_h

    for yv in range(int(y0), int(y1) + 1):
        c.line(left, py(yv), width - right, py(yv))
        c.text(left - 6, py(yv) + 4, str(yv), 10, "end", MUTED_INK)
    if log_x:
        for e in range(int(lo), int(hi) + 1):
            x = left + (e - lo) / (hi - lo) * plot_w
            c.line(x, top_pad, x, top_pad + plot_h)
            c.text(x, top_pad + plot_h + 14, f"{10 ** e:,}", 10, "end" if e == int(hi) else "middle", MUTED_INK)
    c.text(left + plot_w / 2, height - 6, x_label, 11, "middle")
    c.text(12, top_pad + plot_h / 2, y_label, 11, "middle", extra=f' transform="rotate(-90 12 {_num(top_pad + plot_h / 2)})"')
    by_y = sorted(points, key=lambda p: p.y)
    shown = {id(p) for p in sorted(points, key=lambda p: -p.x)[:labelled] + by_y[:2] + by_y[-2:]}
    for p in points:
        if log_x and p.x <= 0:
            continue
        c.circle(px(p.x), py(min(max(p.y, y0), y1)), 5, _BAR_FILL.get(p.style, MAIN), f"{p.label}: {p.x:,.0f}, {p.y:.2f}")
        if id(p) in shown:  # label right of the point, or left of it where it would leave the chart
            label = clip(p.label, 10, 90)
            right = px(p.x) + 7 + text_width(label, 10) <= width
            c.text(px(p.x) + (7 if right else -7), py(min(max(p.y, y0), y1)) + 4, label, 10,
                   "start" if right else "end", MUTED_INK)
    if not points:
        c.text(left + 8, top_pad + 20, "无数据", 12, fill=MUTED_INK)
    return c.render()


def sparkline(values: Sequence[float], *, title: str, width: float = 140, height: float = 28) -> str:
    """A small line of counts (e.g. per day), the last point marked."""
    c = Canvas(width, height, title)
    top = max(list(values) + [1])
    n = len(values)
    if n:
        dx = (width - 6) / max(n - 1, 1)
        pts = [(3 + i * dx, height - 3 - v / top * (height - 6)) for i, v in enumerate(values)]
        c.line(3, height - 3, width - 3, height - 3)
        c.polyline(pts, MAIN)
        c.circle(*pts[-1], 2.5, ACCENT)
    return c.render(fixed=True)

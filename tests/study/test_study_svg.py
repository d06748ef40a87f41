"""The SVG writer: well-formed XML, every text escaped, something drawn, labels that fit."""
from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from streams.study import svg
from streams.study.svg import Bar, Point

NS = {"s": svg.SVG_NS}
HOSTILE = ["<script>alert(1)</script>", "a & b", "\"quoted\" 'single'", "ctl\x00\x01\x08\x0b\x1f", "\ud800lone",
           "]]><!--", "东莞滨海湾新区" * 10, "\ufffe\uffff", "&amp;already"]


def parse(doc: str) -> ET.Element:
    root = ET.fromstring(doc)  # raises on any markup or character XML forbids
    assert root.tag == f"{{{svg.SVG_NS}}}svg"
    return root


def drawn(root: ET.Element) -> int:
    return sum(len(root.findall(f".//s:{t}", NS)) for t in ("rect", "circle", "polyline", "line"))


def all_text(root: ET.Element) -> str:
    return "".join(root.itertext())


def charts(labels):
    yield svg.hbar_chart([Bar(lab, i + 1.0) for i, lab in enumerate(labels)], title=labels[0], fmt=str,
                         ref=(1.5, labels[1]))
    yield svg.column_chart(labels, [float(i) for i in range(len(labels))], title=labels[0], fmt=str,
                           bands=[(0, 2, labels[2])])
    yield svg.stacked_hbar([(lab, [0.5, 0.5]) for lab in labels], [labels[0], labels[1]], title=labels[2])
    yield svg.scatter([Point(lab, 10.0 * (i + 1), 3.0) for i, lab in enumerate(labels)], title=labels[0],
                      x_label=labels[1], y_label=labels[2])
    yield svg.sparkline([1, 3, 2], title=labels[0])


@pytest.mark.parametrize("index", range(5))
def test_hostile_labels_stay_text(index):
    doc = list(charts(HOSTILE))[index]
    root = parse(doc)
    assert "<script" not in doc and "<!--" not in doc
    assert drawn(root) > 0
    text = all_text(root)
    assert HOSTILE[0] in text  # the chart's title: shown as text, not run as markup


def test_esc_escapes_markup_and_drops_what_xml_forbids():
    assert svg.esc("<a href='x'>&</a>") == "&lt;a href=&#39;x&#39;&gt;&amp;&lt;/a&gt;"
    assert svg.esc('"') == "&quot;"
    assert svg.esc("a\x00b\x1fc\td\ne") == "abc\td\ne"
    assert svg.esc("x\ud800y\uffff") == "xy"
    assert svg.esc(12.5) == "12.5"


def test_bars_scale_to_their_values():
    root = parse(svg.hbar_chart([Bar("a", 10.0), Bar("b", 5.0), Bar("c", None)], title="t", fmt=str))
    bars = [r for r in root.findall(".//s:rect", NS)]
    assert len(bars) == 2  # None draws no bar
    w = [float(r.get("width")) for r in bars]
    assert w[0] == pytest.approx(2 * w[1], rel=0.02)
    assert "—" in all_text(root)


def test_columns_shade_their_bands():
    root = parse(svg.column_chart([str(h) for h in range(24)], [1.0] * 24, title="t", fmt=str,
                                  bands=[(0, 9, "off"), (18, 24, "off")]))
    band = [r for r in root.findall("s:rect", NS) if r.get("fill") == svg.BAND]
    assert len(band) == 2
    assert float(band[1].get("width")) == pytest.approx(float(band[0].get("width")) * 6 / 9, rel=0.01)
    assert len([r for r in root.findall("s:rect", NS) if r.get("fill") == svg.MAIN]) == 24


def test_long_labels_are_clipped_to_their_column():
    label = "东莞滨海湾新区" * 10
    cut = svg.clip(label, 12, 100)
    assert cut.endswith("…") and svg.text_width(cut, 12) <= 100
    assert svg.clip("短", 12, 100) == "短"


def test_nice_ticks():
    assert svg.nice_ticks(2160) == [0, 1000, 2000, 3000]
    assert svg.nice_ticks(0.139) == pytest.approx([0, 0.05, 0.1, 0.15])
    assert svg.nice_ticks(0) == [0.0, 1.0]


def test_empty_charts_say_so():
    for doc in (svg.hbar_chart([], title="t", fmt=str), svg.column_chart([], [], title="t", fmt=str),
                svg.stacked_hbar([], ["a"], title="t"), svg.scatter([], title="t", x_label="x", y_label="y")):
        assert "无数据" in all_text(parse(doc))

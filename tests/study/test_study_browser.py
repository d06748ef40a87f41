"""The study page in a real headless Chromium (Debian's package): it loads with no console message, every chart
has drawn content, it prints to PDF, and a screenshot of the first screen is kept as a test artefact.

HOTLINE_TEST_ARTIFACTS=DIR keeps the screenshots there (default: the temp dir); HOTLINE_UPDATE_DOCS=1 copies
the first screen to docs/study.png.
"""
from __future__ import annotations

import os
import re
import shutil
import struct
import subprocess
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from streams.study.pdf import find_chromium, headless_flags
from streams.study.svg import SVG_NS
from tests.support import ROOT, hotline

CHROMIUM = find_chromium()
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="Chromium is absent (Debian: apt-get install chromium); "
                                                         ".ci/run installs it")
ARTIFACTS = Path(os.environ.get("HOTLINE_TEST_ARTIFACTS", tempfile.gettempdir())) / "hotline-study"
FIRST_SCREEN = (1280, 900)
PHONE = (390, 844)


def chromium(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    with tempfile.TemporaryDirectory(prefix="hotline-chromium-") as profile:
        return subprocess.run([CHROMIUM, *headless_flags(profile), "--enable-logging=stderr", "--v=0", *args],
                              capture_output=True, timeout=timeout, text=True)


def console_messages(stderr: str) -> list[str]:
    """Chromium logs every console message (errors, warnings, uncaught exceptions) as INFO:CONSOLE lines."""
    return [ln for ln in stderr.splitlines() if ":CONSOLE" in ln]


def png_size(path: Path) -> tuple[int, int]:
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    return struct.unpack(">II", head[16:24])


@pytest.fixture(scope="module")
def page(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("study")
    events = d / "events.jsonl"
    hotline(["generate", "--tickets", "5000", "--seed", "12", "-q", "-o", str(events)])
    out = d / "study.html"
    hotline(["study", str(events), "-o", str(out), "--pdf"])
    return out


def test_the_scanner_sees_console_errors(tmp_path):
    """A page that does log must be caught, or a clean scan of the study page proves nothing."""
    bad = tmp_path / "bad.html"
    bad.write_text("<html><body><script>console.error('boom'); nope();</script></body></html>")
    res = chromium("--dump-dom", bad.as_uri())
    assert len(console_messages(res.stderr)) == 2, res.stderr[-2000:]


def test_the_page_loads_without_console_messages_and_every_chart_is_drawn(page):
    res = chromium("--dump-dom", page.as_uri())
    assert res.returncode == 0, res.stderr[-2000:]
    assert console_messages(res.stderr) == []
    dom = res.stdout
    charts = re.findall(r"<svg\b.*?</svg>", dom, flags=re.S)
    assert len(charts) == len(re.findall(r"<svg\b", page.read_text(encoding="utf-8"))) >= 12
    ns = {"s": SVG_NS}
    for doc in charts:
        root = ET.fromstring(doc)
        marks = sum(len(root.findall(f".//s:{t}", ns)) for t in ("rect", "circle", "polyline"))
        assert marks > 0, doc[:300]


def test_the_page_prints_to_pdf(page):
    pdf = page.with_suffix(".pdf")
    data = pdf.read_bytes()
    assert data[:5] == b"%PDF-" and len(data) > 20_000
    assert len(re.findall(rb"/Type\s*/Page\b", data)) >= 3  # the study runs over several A4 pages


def test_screenshots_of_the_first_screen_and_a_phone(page):
    fonts = subprocess.run(["fc-list", ":lang=zh", "family"], capture_output=True, text=True).stdout \
        if shutil.which("fc-list") else "unknown"
    assert fonts.strip(), "no CJK font: the screenshot would show empty boxes (Debian: apt-get install fonts-noto-cjk)"
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for name, (w, h) in (("study-first-screen.png", FIRST_SCREEN), ("study-phone.png", PHONE)):
        shot = ARTIFACTS / name
        shot.unlink(missing_ok=True)
        res = chromium("--hide-scrollbars", f"--window-size={w},{h}", f"--screenshot={shot}", page.as_uri())
        assert res.returncode == 0 and shot.is_file(), res.stderr[-2000:]
        assert console_messages(res.stderr) == []
        assert png_size(shot) == (w, h)
        assert shot.stat().st_size > 20_000  # a blank screen compresses to a few kB
        print(f"screenshot: {shot}")
    if os.environ.get("HOTLINE_UPDATE_DOCS") == "1":
        shutil.copyfile(ARTIFACTS / "study-first-screen.png", ROOT / "docs" / "study.png")

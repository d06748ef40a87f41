"""Headless Chromium: print the study page to PDF (and the flags the browser test shares)."""
from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


class ChromiumMissing(RuntimeError):
    pass


def find_chromium() -> str | None:
    return next((p for p in map(shutil.which, CHROMIUM_NAMES) if p), None)


def headless_flags(user_data_dir: str) -> list[str]:
    """A quiet, offline-friendly headless run: no sandbox (root in CI), no GPU, no background fetches."""
    return ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            f"--user-data-dir={user_data_dir}"]


def print_pdf(html_path: str, pdf_path: str, chromium: str | None = None, timeout: float = 180) -> None:
    browser = chromium or find_chromium()
    if browser is None:
        raise ChromiumMissing("--pdf needs Chromium and none was found on PATH (tried "
                              + ", ".join(CHROMIUM_NAMES) + "); on Debian: apt-get install chromium. "
                              "The HTML page was written; print it from any browser instead.")
    out = Path(pdf_path).resolve()
    with tempfile.TemporaryDirectory(prefix="hotline-chromium-") as profile:
        cmd = [browser, *headless_flags(profile), "--no-pdf-header-footer", f"--print-to-pdf={out}",
               Path(html_path).resolve().as_uri()]
        res = subprocess.run(cmd, capture_output=True, timeout=timeout)
    if res.returncode != 0 or not out.is_file() or out.read_bytes()[:5] != b"%PDF-":
        tail = res.stderr.decode(errors="replace")[-1500:]
        raise RuntimeError(f"Chromium did not print {html_path} to {pdf_path} (exit {res.returncode}):\n{tail}")

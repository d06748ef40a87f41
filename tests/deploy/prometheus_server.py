"""A throw-away Prometheus server for tests: Debian's /usr/bin/prometheus on a free loopback port.

    with PrometheusServer("127.0.0.1:9464") as prom:          # scrape target host:port
        prom.wait_for("up == 1")
        print(prom.query('hotline_up'))                       # -> list of {"metric", "value"}
        print(prom.query_range("hotline_up", start, end, step=1))

The generated config scrapes the target every 3 seconds (job ``hotline-exporter`` by default, with the
``hotline_namespace`` label the project's rules expect), evaluates rules every second, and loads the
project's rule files (deploy/prometheus/rules/*.yml) unless told otherwise. With ``fast_rules`` (the
default) the rule files are copied without their per-group ``interval:`` so every group runs at 1s. Storage is a temporary
directory, removed on exit; the process is terminated (then killed if it hangs). Standard library
only (urllib), so it needs nothing beyond the prometheus binary.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any, Iterable, Sequence

REPO = Path(__file__).resolve().parents[2]
RULES_DIR = REPO / "deploy" / "prometheus" / "rules"
DEFAULT_BINARY = "/usr/bin/prometheus"


class PrometheusError(RuntimeError):
    """Prometheus failed to start, or a query returned an error."""


def find_prometheus() -> str | None:
    """Path of a prometheus binary (PROMETHEUS_BIN, /usr/bin/prometheus, or on PATH), else None."""
    for candidate in (os.environ.get("PROMETHEUS_BIN"), DEFAULT_BINARY, shutil.which("prometheus")):
        if candidate and os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return candidate
    return None


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _yaml_str(value: str) -> str:
    # JSON strings are valid YAML scalars: no quoting surprises with ':' or '#'.
    return json.dumps(value)


class PrometheusServer:
    """Context manager around a private Prometheus process."""

    def __init__(
        self,
        target: str,
        *,
        job: str = "hotline-exporter",
        labels: dict[str, str] | None = None,
        rule_files: Iterable[str | os.PathLike] | None = None,
        # Scrape every 3 s with a 3 s timeout (Prometheus caps the timeout at the interval): a 1 s
        # timeout failed scrapes on a loaded 2-core machine running four servers at once.
        scrape_interval: str = "3s",
        evaluation_interval: str = "1s",
        binary: str | None = None,
        startup_timeout: float = 90.0,
        fast_rules: bool = True,
    ) -> None:
        self.target = target
        self.job = job
        self.labels = {"hotline_namespace": "hotline"} if labels is None else dict(labels)
        if rule_files is None:
            rule_files = sorted(RULES_DIR.glob("*.yml"))
        self.rule_files = [str(Path(p).resolve()) for p in rule_files]
        self.scrape_interval = scrape_interval
        self.evaluation_interval = evaluation_interval
        self.binary = binary or find_prometheus()
        self.startup_timeout = startup_timeout
        self.fast_rules = fast_rules
        self.port: int | None = None
        self.url: str = ""
        self._tmp: tempfile.TemporaryDirectory | None = None
        self._proc: subprocess.Popen | None = None
        self._log_path: Path | None = None

    # -- lifecycle --------------------------------------------------------------------------------
    def config_text(self) -> str:
        lines = [
            "global:",
            f"  scrape_interval: {self.scrape_interval}",
            f"  scrape_timeout: {self.scrape_interval}",
            f"  evaluation_interval: {self.evaluation_interval}",
        ]
        if self.rule_files:
            lines.append("rule_files:")
            lines += [f"  - {_yaml_str(p)}" for p in self.rule_files]
        lines += [
            "scrape_configs:",
            f"  - job_name: {_yaml_str(self.job)}",
            "    static_configs:",
            f"      - targets: [{_yaml_str(self.target)}]",
        ]
        if self.labels:
            lines.append("        labels:")
            lines += [f"          {k}: {_yaml_str(v)}" for k, v in sorted(self.labels.items())]
        return "\n".join(lines) + "\n"

    def start(self) -> "PrometheusServer":
        if not self.binary:
            raise PrometheusError("no prometheus binary (apt-get install prometheus)")
        self._tmp = tempfile.TemporaryDirectory(prefix="hotline-prom-")
        tmp = Path(self._tmp.name)
        if self.fast_rules:
            self._copy_rules_without_group_intervals(tmp / "rules")
        config = tmp / "prometheus.yml"
        config.write_text(self.config_text(), encoding="utf-8")
        (tmp / "data").mkdir()
        self._log_path = tmp / "prometheus.log"
        last_error = ""
        for _attempt in range(3):  # the free port may be taken between probing and binding
            self.port = free_port()
            self.url = f"http://127.0.0.1:{self.port}"
            log = open(self._log_path, "wb")
            try:
                self._proc = subprocess.Popen(
                    [
                        self.binary,
                        f"--config.file={config}",
                        f"--storage.tsdb.path={tmp / 'data'}",
                        f"--web.listen-address=127.0.0.1:{self.port}",
                        "--storage.tsdb.retention.time=1d",
                        "--log.level=warn",
                    ],
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL,
                    cwd=tmp,
                )
            finally:
                log.close()
            try:
                self._wait_ready()
                return self
            except PrometheusError as exc:
                last_error = str(exc)
                self._terminate()
        self.stop()
        raise PrometheusError(last_error)

    def _copy_rules_without_group_intervals(self, dest: Path) -> None:
        """Rule groups carry their own `interval:` (30s-2m); drop it so the groups run at
        evaluation_interval (1s) and tests see recorded series and pending alerts within seconds."""
        dest.mkdir()
        copies = []
        for i, src in enumerate(self.rule_files):
            text = Path(src).read_text(encoding="utf-8")
            text = re.sub(r"(?m)^[ \t]+interval:[ \t]*\S+[ \t]*\n", "", text)
            out = dest / f"{i:02d}-{Path(src).name}"
            out.write_text(text, encoding="utf-8")
            copies.append(str(out))
        self.rule_files = copies

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if self._proc is not None and self._proc.poll() is not None:
                raise PrometheusError(f"prometheus exited with {self._proc.returncode}:\n{self.log()}")
            try:
                with urllib.request.urlopen(f"{self.url}/-/ready", timeout=2) as resp:
                    if resp.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
                pass
            time.sleep(0.1)
        raise PrometheusError(f"prometheus not ready after {self.startup_timeout}s:\n{self.log()}")

    def _terminate(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)

    def stop(self) -> None:
        self._terminate()
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    def __enter__(self) -> "PrometheusServer":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    def log(self) -> str:
        if self._log_path and self._log_path.exists():
            return self._log_path.read_text(encoding="utf-8", errors="replace")[-4000:]
        return ""

    # -- HTTP API ---------------------------------------------------------------------------------
    def api(self, path: str, params: dict[str, Any] | Sequence[tuple[str, Any]] | None = None) -> Any:
        """GET /api/v1/<path>; returns ``data`` or raises PrometheusError with Prometheus' message."""
        query = urllib.parse.urlencode(params or {}, doseq=True)
        url = f"{self.url}/api/v1/{path}" + (f"?{query}" if query else "")
        try:
            with urllib.request.urlopen(url, timeout=60) as resp:
                body = json.load(resp)
        except urllib.error.HTTPError as exc:  # 400/422 carry a JSON error body
            try:
                body = json.load(exc)
            except ValueError:
                raise PrometheusError(f"{url}: HTTP {exc.code}") from None
        if body.get("status") != "success":
            raise PrometheusError(f"{body.get('errorType')}: {body.get('error')} ({url})")
        return body["data"]

    def query(self, expr: str, time_: float | None = None) -> list[dict[str, Any]]:
        """Instant query. Returns the result list (vector/matrix) or [[ts, value]] for a scalar."""
        params: dict[str, Any] = {"query": expr}
        if time_ is not None:
            params["time"] = time_
        data = self.api("query", params)
        if data["resultType"] in ("scalar", "string"):
            return [data["result"]]
        return data["result"]

    def query_range(self, expr: str, start: float, end: float, step: float = 1.0) -> list[dict[str, Any]]:
        data = self.api("query_range", {"query": expr, "start": start, "end": end, "step": step})
        return data["result"]

    def value(self, expr: str) -> float | None:
        """The single value of an instant query, or None when the result is empty."""
        result = self.query(expr)
        if not result:
            return None
        if len(result) != 1:
            raise PrometheusError(f"{expr!r} returned {len(result)} series")
        sample = result[0]["value"] if isinstance(result[0], dict) else result[0]
        return float(sample[1])

    def wait_scrapes(self, n: int = 2, timeout: float = 90.0) -> None:
        """Wait until the target has been scraped `n` more times (and rules evaluated meanwhile):
        a condition, where a fixed sleep assumed a scrape interval."""
        stamp = lambda: max((float(r["value"][1]) for r in self.query(f'timestamp(up{{job="{self.job}"}})')), default=0.0)
        first = stamp()
        interval = float(self.scrape_interval.rstrip("s"))
        deadline = time.monotonic() + timeout
        while stamp() < first + (n - 0.5) * interval:
            if time.monotonic() > deadline:
                raise PrometheusError(f"fewer than {n} scrapes in {timeout}s\n{self.log()}")
            time.sleep(0.25)

    def wait_for(self, expr: str, timeout: float = 90.0, interval: float = 0.25) -> list[dict[str, Any]]:
        """Poll until the instant query returns a non-empty result; return it."""
        deadline = time.monotonic() + timeout
        while True:
            result = self.query(expr)
            if result:
                return result
            if time.monotonic() > deadline:
                raise PrometheusError(f"{expr!r} still empty after {timeout}s\n{self.log()}")
            time.sleep(interval)

    def targets(self) -> list[dict[str, Any]]:
        return self.api("targets")["activeTargets"]

    def rule_groups(self) -> list[dict[str, Any]]:
        return self.api("rules")["groups"]

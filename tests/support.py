"""Helpers for tests that run the real processes: workers and exporters as subprocesses."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def env_for(settings, **extra) -> dict:
    env = dict(os.environ)
    env.update({
        "HOTLINE_KAFKA_URL": settings.kafka_url, "HOTLINE_REDIS_URL": settings.redis_url,
        "HOTLINE_NAMESPACE": settings.namespace, "HOTLINE_TOPIC_PREFIX": settings.topic_prefix,
        "HOTLINE_PARTITIONS": str(settings.partitions), "HOTLINE_SESSION_TIMEOUT": str(settings.session_timeout_s),
        "HOTLINE_CALLER_HASH_KEY": settings.caller_hash_key, "HOTLINE_EXPORTER_ADDR": settings.exporter_addr,
        "HOTLINE_BATCH_MAX": str(settings.batch_max), "PYTHONUNBUFFERED": "1",
    })
    env.update({k: str(v) for k, v in extra.items()})
    return env


class Proc:
    """A hotline subprocess in its own process group, with its log kept for failure messages."""

    def __init__(self, args: list[str], env: dict, name: str):
        self.name = name
        self.log = tempfile.NamedTemporaryFile(prefix=f"hotline-{name}-", suffix=".log", delete=False)
        from streams.adapters.embedded import die_with_parent

        self.p = subprocess.Popen([sys.executable, "-m", "streams.commands.cli", *args], env=env, cwd=ROOT,
                                  stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True,
                                  preexec_fn=die_with_parent)

    def alive(self) -> bool:
        return self.p.poll() is None

    def kill(self, sig=signal.SIGKILL) -> None:
        if self.alive():
            try:
                os.killpg(self.p.pid, sig)
            except ProcessLookupError:
                pass
            try:
                self.p.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.p.pid, signal.SIGKILL)
                self.p.wait(5)

    def stop(self) -> None:
        self.kill(signal.SIGTERM)

    def output(self) -> str:
        return self.full_output()[-4000:]

    def full_output(self) -> str:
        return Path(self.log.name).read_text(errors="replace")


def start_worker(settings, name="worker", **extra) -> Proc:
    return Proc(["worker"], env_for(settings, **extra), name)


def start_exporter(settings, **extra) -> Proc:
    return Proc(["exporter"], env_for(settings, **extra), "exporter")


def hotline(args: list[str], settings=None, check=True, timeout=600) -> subprocess.CompletedProcess:
    env = env_for(settings) if settings is not None else dict(os.environ)
    res = subprocess.run([sys.executable, "-m", "streams.commands.cli", *args], env=env, cwd=ROOT, capture_output=True,
                         timeout=timeout)
    if check and res.returncode != 0:
        raise AssertionError(f"hotline {' '.join(args)} exited {res.returncode}:\n"
                             f"{res.stderr.decode(errors='replace')[-3000:]}")
    return res


def hotline_json(args: list[str], settings=None) -> dict:
    return json.loads(hotline(args, settings).stdout)


def generate(path: Path, tickets: int, seed: int = 7, mode: str = "lifecycle", dirty: float = 0.0,
             year: int = 2024) -> Path:
    hotline(["generate", "--tickets", str(tickets), "--seed", str(seed), "--year", str(year), "--mode", mode,
             "--dirty-rate", str(dirty), "-o", str(path)])
    return path


def shuffled_in_blocks(ordered: Path, path: Path, block: int, seed: int) -> Path:
    """`ordered`'s lines shuffled within consecutive blocks, as an export sorted by another column
    arrives: follow-ups often before their ticket's creation, the order kept beyond a block."""
    import random

    lines = [ln for ln in ordered.read_bytes().splitlines() if ln.strip()]
    rnd = random.Random(seed)
    out = []
    for i in range(0, len(lines), block):
        part = lines[i:i + block]
        rnd.shuffle(part)
        out += part
    path.write_bytes(b"\n".join(out) + b"\n")
    return path


def count_records(path: Path) -> int:
    with open(path, "rb") as fh:
        return sum(1 for line in fh if line.strip())


def wait_for_records(store, n: int, timeout: float = 300, workers=()) -> None:
    """Wait until `n` records are counted; fail at once when every given worker has exited (a worker
    that stopped on an error would otherwise be waited for until the deadline)."""
    deadline = time.monotonic() + timeout
    seen = -1
    import redis

    while time.monotonic() < deadline:
        dead = bool(workers) and not any(w.alive() for w in workers)
        try:
            pipe = store.pipeline_counters()
        except (redis.ConnectionError, redis.BusyLoadingError):
            time.sleep(0.25)  # a restarting Redis (chaos tests)
            continue
        seen = pipe.get("records", 0)
        if store.all_counted(pipe, n):  # the repeat stage included
            return
        if dead:
            logs = "\n".join(f"--- {w.name} (exit {w.p.returncode})\n{w.output()}" for w in workers)
            raise AssertionError(f"every worker exited with {seen} of {n} records counted\n{logs}")
        time.sleep(0.25)
    logs = "\n".join(f"--- {w.name}\n{w.output()}" for w in workers)
    raise AssertionError(f"only {seen} of {n} records counted after {timeout} s\n{logs}")


def wait_until(cond, timeout: float = 120, what: str = "condition", every: float = 0.05):
    """Poll `cond` until it returns a true value (returned); Redis errors count as not yet."""
    import redis

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            value = cond()
            if value:
                return value
        except (redis.RedisError, OSError):
            pass
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def settled(read, quiet: float = 1.0, timeout: float = 120, what: str = "figures to settle"):
    """Wait until `read()` returns the same value for `quiet` seconds (nothing counted twice shows
    up later), and return it. Replaces fixed sleeps after a replay."""
    deadline = time.monotonic() + timeout
    last, since = read(), time.monotonic()
    while time.monotonic() < deadline:
        time.sleep(0.1)
        now = read()
        if now != last:
            last, since = now, time.monotonic()
        elif time.monotonic() - since >= quiet:
            return now
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def comparable(report: dict) -> dict:
    """The report without the fields that name where it came from."""
    return {k: v for k, v in report.items() if k not in ("source", "window_end")}


def live_vs_batch(batch: dict, live: dict) -> list[str]:
    """Every field where a live snapshot differs from the batch report of the same records.

    `late` is left out: it depends on how partitions interleave on arrival, which a file has no
    notion of (late events are still counted in every other field)."""
    strip = lambda r: {k: v for k, v in comparable(r).items() if k != "late"}
    return diff(strip(batch), strip(live))


def diff(a: dict, b: dict, path: str = "") -> list[str]:
    out = []
    for k in sorted(set(a) | set(b), key=str):
        p = f"{path}.{k}" if path else str(k)
        if k not in a or k not in b:
            out.append(f"{p}: only in {'batch' if k in a else 'live'}")
        elif isinstance(a[k], dict) and isinstance(b[k], dict):
            out += diff(a[k], b[k], p)
        elif a[k] != b[k]:
            out.append(f"{p}: batch {a[k]!r} != live {b[k]!r}")
    return out


def consume_topic(settings, topic: str, want: int = 1, timeout: float = 30) -> list:
    """Every message of a topic from the beginning, polling until `want` arrived or `timeout` passed."""
    from kafka import KafkaConsumer, TopicPartition

    from streams.adapters.kafka import client_kwargs

    c = KafkaConsumer(enable_auto_commit=False, group_id=None, auto_offset_reset="earliest", **client_kwargs(settings))
    try:
        tps = [TopicPartition(topic, p) for p in sorted(c.partitions_for_topic(topic) or [])]
        c.assign(tps)
        c.seek_to_beginning(*tps)
        out, deadline = [], time.monotonic() + timeout
        while time.monotonic() < deadline and len(out) < want:
            for msgs in c.poll(timeout_ms=300).values():
                out += msgs
        for msgs in c.poll(timeout_ms=500).values():
            out += msgs
        return out
    finally:
        c.close()

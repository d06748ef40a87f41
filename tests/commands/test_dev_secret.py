"""The worker warns, on its first line, when it would hash callers with the public development key."""
import os
import subprocess
import sys

from streams.adapters.embedded import free_port
from streams.layout import ROOT


def run_worker(**env) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if not k.startswith("HOTLINE_")}
    # No broker answers here: the worker warns first, then gives up on the broker with exit 2.
    base.update(HOTLINE_KAFKA_URL=f"kafka://127.0.0.1:{free_port()}", **env)
    return subprocess.run([sys.executable, "-m", "streams", "worker"], env=base, cwd=ROOT, capture_output=True,
                          text=True, timeout=120)


def test_the_worker_warns_with_the_development_secret_and_not_with_a_real_one():
    res = run_worker()
    assert res.returncode == 2, res.stderr[-1000:]
    assert "WARNING: HOTLINE_CALLER_HASH_KEY is not set" in res.stderr
    res = run_worker(HOTLINE_CALLER_HASH_KEY="a-real-secret-of-this-city")
    assert res.returncode == 2 and "HOTLINE_CALLER_HASH_KEY is not set" not in res.stderr, res.stderr[-1000:]

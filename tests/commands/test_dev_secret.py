"""The worker warns, on its first line, when it would hash callers with the public development key."""
import os
import subprocess
import sys

from streams.adapters.embedded import free_port
from streams.layout import ROOT


def start_worker(**env) -> subprocess.Popen:
    base = {k: v for k, v in os.environ.items() if not k.startswith("HOTLINE_")}
    # No broker answers here: the worker warns first, then gives up on the broker with exit 2 (after
    # kafka-python's 30 s bootstrap wait: both workers wait at once).
    base.update(HOTLINE_KAFKA_URL=f"kafka://127.0.0.1:{free_port()}", **env)
    return subprocess.Popen([sys.executable, "-m", "streams", "worker"], env=base, cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def test_the_worker_warns_with_the_development_secret_and_not_with_a_real_one():
    dev, real = start_worker(), start_worker(HOTLINE_CALLER_HASH_KEY="a-real-secret-of-this-city")
    try:
        dev_err, real_err = dev.communicate(timeout=120)[1], real.communicate(timeout=120)[1]
    finally:
        for p in (dev, real):
            if p.poll() is None:
                p.kill()
                p.wait()
    assert dev.returncode == 2, dev_err[-1000:]
    assert "WARNING: HOTLINE_CALLER_HASH_KEY is not set" in dev_err
    assert real.returncode == 2 and "HOTLINE_CALLER_HASH_KEY is not set" not in real_err, real_err[-1000:]

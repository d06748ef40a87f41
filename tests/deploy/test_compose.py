"""deploy/docker-compose.yml must pass Debian's `docker-compose config -q` (docker-compose 1.29, no
Docker engine needed) with nothing set in the environment, and wire the stack as documented.

Needs `docker-compose` (Debian package `docker-compose`); skipped with a message when missing."""
from __future__ import annotations

import os
import re
import shutil
import subprocess

import pytest

from deploy_catalogue import DEPLOY

COMPOSE_FILE = DEPLOY / "docker-compose.yml"
DOCKER_COMPOSE = shutil.which("docker-compose")
needs_compose = pytest.mark.skipif(
    DOCKER_COMPOSE is None, reason="docker-compose not installed (Debian: apt-get install docker-compose)"
)


def _clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("HOTLINE_", "COMPOSE_", "DOCKER_", "GRAFANA_"))}
    env.update(extra)
    return env


def _compose(*args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [DOCKER_COMPOSE, "-f", str(COMPOSE_FILE), *args],
        capture_output=True, text=True, timeout=120, env=_clean_env(**env), cwd=DEPLOY,
    )


@needs_compose
def test_config_is_valid():
    proc = _compose("config", "-q")
    assert proc.returncode == 0, f"docker-compose config -q failed:\n{proc.stdout}\n{proc.stderr}"


@needs_compose
def test_services_and_wiring():
    proc = _compose("config")
    assert proc.returncode == 0, proc.stderr
    cfg = proc.stdout
    services = set(_compose("config", "--services").stdout.split())
    assert services == {"kafka", "kafka-init", "redis", "hotline-worker", "hotline-exporter", "hotline-hotspots",
                        "prometheus", "alertmanager", "grafana"}
    for needle in (
        "HOTLINE_KAFKA_URL: kafka://kafka:9092",
        "HOTLINE_REDIS_URL: redis://redis:6379/0",
        "HOTLINE_EXPORTER_ADDR: 0.0.0.0:9464",
        "HOTLINE_NAMESPACE: hotline",
        "HOTLINE_TOPIC_PREFIX: hotline.",
        "HOTLINE_CALLER_HASH_KEY_FILE: /run/secrets/caller_hash_key",
        "KAFKA_PROCESS_ROLES: broker,controller",
        "image: apache/kafka:",
        "dockerfile: deploy/Dockerfile",
    ):
        assert needle in cfg, needle
    assert re.search(r"HOTLINE_PARTITIONS: '?4'?", cfg)
    assert "/etc/prometheus/rules" in cfg and "/etc/alertmanager/alertmanager.yml" in cfg
    # every published port is on loopback
    for port in re.findall(r"^\s+- (\S+:\d+/tcp)$", cfg, re.M):
        assert port.startswith("127.0.0.1:"), port


@needs_compose
def test_environment_overrides():
    proc = _compose("config", HOTLINE_NAMESPACE="dongguan", HOTLINE_PARTITIONS="12", HOTLINE_WORKERS="5",
                    HOTLINE_TOPIC_PREFIX="dg.")
    assert proc.returncode == 0, proc.stderr
    assert "HOTLINE_NAMESPACE: dongguan" in proc.stdout
    assert re.search(r"HOTLINE_PARTITIONS: '?12'?", proc.stdout)
    assert re.search(r"^\s+scale: 5$", proc.stdout, re.M)
    assert "HOTLINE_TOPIC_PREFIX: dg." in proc.stdout


def test_no_top_level_name_or_version():
    text = COMPOSE_FILE.read_text(encoding="utf-8")
    assert not re.search(r"^name:", text, re.M), "docker-compose 1.29 rejects a top-level name:"
    assert not re.search(r"^version:", text, re.M)


def test_no_secret_in_the_compose_file():
    text = COMPOSE_FILE.read_text(encoding="utf-8")
    assert not re.search(r"HOTLINE_CALLER_HASH_KEY:\s*\S", text), "the caller-hash key must come from a secret"
    ignored = (DEPLOY / "secrets" / ".gitignore").read_text().splitlines()
    assert "*" in ignored, "deploy/secrets/ must ignore everything but its .gitignore"

"""One frozen settings object, read from the environment once.

Every process (worker, exporter, replay, demo, snapshot) builds its configuration here, so the
README's table of variables is the whole story.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, replace
from typing import Mapping

# A built-in secret keeps the demo one command long; it is public, so the demo warns when used.
DEV_CALLER_HASH_KEY = "hotline-dev-only-not-a-secret"


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise ValueError(f"{name} must be an integer, got {raw!r}") from None


def _float(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        return float(raw)
    except ValueError:
        raise ValueError(f"{name} must be a number, got {raw!r}") from None


MEMBERS_TOPIC = "repeat.members"  # after the topic prefix: the repeat stage's topic

@dataclass(frozen=True)
class Settings:
    kafka_url: str = "kafka://127.0.0.1:9092"
    redis_url: str = "redis://127.0.0.1:6379/0"
    namespace: str = "hotline"
    topic_prefix: str = "hotline."
    partitions: int = 4
    exporter_addr: str = "127.0.0.1:9464"
    caller_hash_key: str = DEV_CALLER_HASH_KEY
    # Optional trained item classifier; without one the lexicon decides.
    item_model: str | None = None
    # Group join waits half of this on the embedded broker, so tests and the demo lower it.
    session_timeout_s: float = 30.0
    batch_max: int = 2000
    batch_within_s: float = 0.2
    # How long a fetch may wait for records. Faust fixes 1500 ms; the embedded broker holds a
    # fetch for much of that even when records arrive, which set the live latency.
    fetch_max_wait_ms: int = 100
    # Kafka security (production); empty means PLAINTEXT.
    kafka_security_protocol: str = "PLAINTEXT"
    kafka_sasl_mechanism: str = ""
    kafka_sasl_username: str = ""
    kafka_sasl_password: str = ""
    kafka_ssl_cafile: str = ""
    redis_ssl_ca_certs: str = ""
    window_clock: str = "auto"  # auto | event | wall
    repeat_rules: str = "caller,text"
    repeat_days: int = 30
    spike_interval_s: float = 15.0
    spike_min_count: int = 5
    spike_threshold: float = 4.0
    worker_web_port: int = 0  # 0: Faust's web server off
    # An event time further ahead of the wall clock than this is rejected (`future_time`): one such
    # record would otherwise drag the window clock ahead and empty every window.
    max_future_s: int = 86400
    # A follow-up whose ticket's creation has not arrived after this much event time is orphaned.
    orphan_horizon_days: int = 30
    # Reply deadline (办理时限) in days, and per item ("城市管理=10,交通管理=7"): a ticket not replied
    # nor withdrawn by the end of day received + N is overdue (streams/core/monitors.py).
    deadline_days: int = 15
    deadline_days_by_item: str = ""

    @property
    def raw_topic(self) -> str:
        return f"{self.topic_prefix}tickets.raw"

    @property
    def enriched_topic(self) -> str:
        return f"{self.topic_prefix}tickets.enriched"

    @property
    def dlq_topic(self) -> str:
        return f"{self.topic_prefix}tickets.dlq"

    @property
    def alerts_topic(self) -> str:
        return f"{self.topic_prefix}alerts"

    @property
    def members_topic(self) -> str:
        """The repeat stage's topic: repeat-group memberships keyed by group key (streams/core/members.py)."""
        return f"{self.topic_prefix}{MEMBERS_TOPIC}"

    @property
    def callbacks_topic(self) -> str:
        return f"{self.topic_prefix}callbacks"

    @property
    def deadlines(self):
        from streams.core.monitors import Deadlines

        return Deadlines.parse(self.deadline_days, self.deadline_days_by_item)

    @property
    def uses_dev_secret(self) -> bool:
        return self.caller_hash_key == DEV_CALLER_HASH_KEY

    @property
    def exporter_host_port(self) -> tuple[str, int]:
        host, _, port = self.exporter_addr.rpartition(":")
        return (host.strip("[]") or "127.0.0.1", int(port))

    def with_(self, **changes) -> "Settings":
        return replace(self, **changes)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> "Settings":
        env = os.environ if env is None else env
        d = cls()
        s = cls(
            kafka_url=env.get("HOTLINE_KAFKA_URL") or d.kafka_url,
            redis_url=env.get("HOTLINE_REDIS_URL") or d.redis_url,
            namespace=env.get("HOTLINE_NAMESPACE") or d.namespace,
            topic_prefix=env.get("HOTLINE_TOPIC_PREFIX", d.topic_prefix),
            partitions=_int(env, "HOTLINE_PARTITIONS", d.partitions),
            exporter_addr=env.get("HOTLINE_EXPORTER_ADDR") or d.exporter_addr,
            caller_hash_key=env.get("HOTLINE_CALLER_HASH_KEY") or d.caller_hash_key,
            item_model=env.get("HOTLINE_ITEM_MODEL") or None,
            session_timeout_s=_float(env, "HOTLINE_SESSION_TIMEOUT", d.session_timeout_s),
            batch_max=_int(env, "HOTLINE_BATCH_MAX", d.batch_max),
            batch_within_s=_float(env, "HOTLINE_BATCH_WITHIN", d.batch_within_s),
            fetch_max_wait_ms=_int(env, "HOTLINE_FETCH_MAX_WAIT_MS", d.fetch_max_wait_ms),
            kafka_security_protocol=env.get("HOTLINE_KAFKA_SECURITY_PROTOCOL") or d.kafka_security_protocol,
            kafka_sasl_mechanism=env.get("HOTLINE_KAFKA_SASL_MECHANISM", ""),
            kafka_sasl_username=env.get("HOTLINE_KAFKA_SASL_USERNAME", ""),
            kafka_sasl_password=env.get("HOTLINE_KAFKA_SASL_PASSWORD", ""),
            kafka_ssl_cafile=env.get("HOTLINE_KAFKA_SSL_CAFILE", ""),
            redis_ssl_ca_certs=env.get("HOTLINE_REDIS_SSL_CA_CERTS", ""),
            window_clock=env.get("HOTLINE_WINDOW_CLOCK") or d.window_clock,
            worker_web_port=_int(env, "HOTLINE_WORKER_WEB_PORT", d.worker_web_port),
            repeat_rules=env.get("HOTLINE_REPEAT_RULES", d.repeat_rules),
            repeat_days=_int(env, "HOTLINE_REPEAT_DAYS", d.repeat_days),
            spike_interval_s=_float(env, "HOTLINE_SPIKE_INTERVAL", d.spike_interval_s),
            spike_min_count=_int(env, "HOTLINE_SPIKE_MIN_COUNT", d.spike_min_count),
            spike_threshold=_float(env, "HOTLINE_SPIKE_THRESHOLD", d.spike_threshold),
            max_future_s=_int(env, "HOTLINE_MAX_FUTURE_SECONDS", d.max_future_s),
            orphan_horizon_days=_int(env, "HOTLINE_ORPHAN_HORIZON_DAYS", d.orphan_horizon_days),
            deadline_days=_int(env, "HOTLINE_DEADLINE_DAYS", d.deadline_days),
            deadline_days_by_item=env.get("HOTLINE_DEADLINE_DAYS_BY_ITEM", d.deadline_days_by_item),
        )
        s.validate()
        return s

    def validate(self) -> None:
        if not 1 <= self.partitions <= 1024:
            raise ValueError(f"HOTLINE_PARTITIONS must be 1..1024, got {self.partitions}")
        if not self.namespace.replace("-", "").replace("_", "").isalnum():
            raise ValueError(f"HOTLINE_NAMESPACE must be letters, digits, - or _, got {self.namespace!r}")
        if self.max_future_s < 0:
            raise ValueError("HOTLINE_MAX_FUTURE_SECONDS must be 0 or more")
        if self.orphan_horizon_days < 1:
            raise ValueError("HOTLINE_ORPHAN_HORIZON_DAYS must be at least 1")
        if self.window_clock not in ("auto", "event", "wall"):
            raise ValueError("HOTLINE_WINDOW_CLOCK must be auto, event or wall")
        self.exporter_host_port  # raises on a malformed address
        self.repeats  # raises on unknown rules
        self.deadlines  # raises on a deadline out of 1..30 days or a malformed list

    @property
    def repeats(self):
        from streams.core.repeats import RepeatRules

        return RepeatRules.parse(self.repeat_rules, self.repeat_days) if self.repeat_rules else None

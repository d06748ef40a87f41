"""`hotline exporter`: a Prometheus custom collector that reads Redis at every scrape.

No gauges refreshed on a timer: what a scrape returns is what Redis holds at that moment, so two
exporters (or a restarted one) can never disagree or publish stale figures. Names and labels are
listed in docs/metrics.md.
"""
from __future__ import annotations

import logging
import time

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from streams.core.counting import REPLY_TYPES, SCORES
from streams.adapters.store import CounterStore
from streams.core.windows import WINDOW_NAMES

from streams.settings import MEMBERS_TOPIC

log = logging.getLogger("hotline.exporter")

_BY = {"item": "item", "channel": "channel", "district": "district", "rights": "rights_claim"}


def _split(fields: dict[str, int]) -> dict[str, dict[str, dict[str, int]]]:
    out: dict[str, dict[str, dict[str, int]]] = {}
    for key, value in fields.items():
        dim, name, metric = key.split("|", 2)
        out.setdefault(dim, {}).setdefault(name, {})[metric] = value
    return out


# Window series per breakdown row: (dimension, metric, labels). With the satisfaction means per item
# and channel (evaluated, sat_sum), what the exporter reads of the buckets' breakdown rows: the
# 5-minute and hourly buckets must carry all of it (tests/core/test_windows.py).
PER_BREAKDOWN = {
    "hotline_window_item_tickets": ("item", "tickets", ["window", "item"]),
    "hotline_window_channel_tickets": ("channel", "tickets", ["window", "channel"]),
    "hotline_window_district_tickets": ("district", "tickets", ["window", "district"]),
    "hotline_window_item_repeat_tickets": ("item", "repeat", ["window", "item"]),
    "hotline_window_item_evaluations": ("item", "evaluated", ["window", "item"]),
    "hotline_window_district_repeat_tickets": ("district", "repeat", ["window", "district"]),
}


class HotlineCollector(Collector):
    def __init__(self, store, window_clock: str = "auto"):
        # A CounterStore, or a callable giving the store to read for this scrape (the active namespace).
        self.store = store
        self.window_clock = window_clock

    def describe(self):
        return []  # metrics depend on Redis; describing them would make registration scrape Redis

    def collect(self):
        started = time.perf_counter()
        up = GaugeMetricFamily("hotline_up", "1 when the exporter can read the counters in Redis")
        try:
            store = self.store() if callable(self.store) else self.store
            families = list(self._collect(store))
        except Exception as exc:  # Redis down: say so instead of failing the scrape
            log.warning("scrape failed: %s", exc)
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        yield from families
        took = GaugeMetricFamily("hotline_exporter_scrape_duration_seconds", "Time this scrape spent reading Redis")
        took.add_metric([], time.perf_counter() - started)
        yield took

    def _collect(self, store: CounterStore):
        all_time = store.all_time()
        pipe = store.pipeline_counters()
        meta = store.meta()
        groups = _split(all_time)
        overall = groups.get("all", {}).get("", {})

        def counter(name, doc, value, labels=None, label_values=()):
            fam = CounterMetricFamily(name, doc, labels=labels or [])
            fam.add_metric(list(label_values), value)
            return fam

        yield counter("hotline_tickets", "Distinct tickets counted", overall.get("tickets", 0))
        for dim, label in _BY.items():
            fam = CounterMetricFamily(f"hotline_tickets_by_{label}", f"Tickets per {label}", labels=[label])
            for name, m in sorted(groups.get(dim, {}).items()):
                fam.add_metric([name], m.get("tickets", 0))
            yield fam
        yield counter("hotline_tickets_off_hours", "Tickets received 18:00-09:00", overall.get("off_hours", 0))
        yield counter("hotline_tickets_withdrawn", "Tickets withdrawn", overall.get("withdrawn", 0))
        fam = CounterMetricFamily("hotline_tickets_repeat", "Repeat complaints by the rule that matched", labels=["rule"])
        fam.add_metric(["platform"], overall.get("repeat", 0))
        for rule in ("caller", "text"):
            fam.add_metric([rule], overall.get(f"repeat_{rule}", 0))
        yield fam
        fam = CounterMetricFamily("hotline_replies", "Replies by type", labels=["reply_type"])
        for t in REPLY_TYPES:
            fam.add_metric([t], overall.get(f"reply_{t}", 0))
        yield fam
        fam = CounterMetricFamily("hotline_evaluations", "Satisfaction evaluations by score", labels=["score"])
        for s in SCORES:
            fam.add_metric([str(s)], overall.get(f"sat_{s}", 0))
        yield fam
        yield counter("hotline_response_seconds", "Sum of received-to-replied durations", overall.get("response_s", 0))
        yield counter("hotline_callbacks", "Bad ratings (1 or 2) to call back, once per ticket (差评回访)",
                      overall.get("callback", 0))

        yield from self._windows(store, all_time)
        yield from self._monitors(store, all_time)

        fam = CounterMetricFamily("hotline_events", "Raw records by what the worker did with them", labels=["outcome"])
        for outcome in ("counted", "duplicate", "rejected", "orphaned"):
            fam.add_metric([outcome], pipe.get(f"events|{outcome}", 0))
        yield fam
        g = GaugeMetricFamily("hotline_parked_events", "Follow-ups waiting for their ticket's creation")
        g.add_metric([], pipe.get("events|parked", 0))
        yield g
        yield counter("hotline_offset_gaps", "Raw offsets never seen (transaction markers, compaction, retention)",
                      pipe.get("gap", 0))
        fam = CounterMetricFamily("hotline_dlq_records", "Dead-letter records by reason", labels=["reason"])
        from streams.core.cleaning import REASONS

        for reason in REASONS:
            fam.add_metric([reason], pipe.get(f"dlq|{reason}", 0))
        yield fam
        yield counter("hotline_late_events", "Events older than the bucket retention", pipe.get("late", 0))
        g = GaugeMetricFamily("hotline_newest_event_timestamp_seconds", "Event time of the newest event counted")
        g.add_metric([], float(meta.get("watermark") or 0))
        yield g
        g = GaugeMetricFamily("hotline_last_batch_timestamp_seconds", "Wall-clock time the last batch was applied")
        g.add_metric([], float(meta.get("last_batch") or 0))
        yield g
        # Two stages count partitions (streams/core/members.py): the raw topic's and the members topic's.
        stage = lambda fence: "repeat" if fence.rsplit(":", 1)[0].endswith(MEMBERS_TOPIC) else "raw"  # noqa: E731
        off = GaugeMetricFamily("hotline_partition_committed_offset", "Last offset applied to Redis",
                                labels=["stage", "partition"])
        for fence, value in sorted(store.offsets().items()):
            off.add_metric([stage(fence), fence.rsplit(":", 1)[-1]], value)
        yield off
        lag = GaugeMetricFamily("hotline_partition_lag_messages", "Messages not yet applied",
                                labels=["stage", "partition"])
        for fence, value in sorted(store.lags().items()):
            lag.add_metric([stage(fence), fence.rsplit(":", 1)[-1]], value)
        yield lag
        g = GaugeMetricFamily("hotline_repeat_members_pending",
                              "Repeat-group memberships sent by the raw stage and not yet joined by the repeat stage")
        g.add_metric([], max(0, pipe.get("members|sent", 0) - pipe.get("members|joined", 0)))
        yield g
        yield from self._alerts(store)

    def _windows(self, store: CounterStore, all_time):
        end = store.window_end(self.window_clock)
        names = ["hotline_window_tickets", "hotline_window_repeat_tickets", "hotline_off_hours_ratio",
                 "hotline_evaluation_ratio", "hotline_satisfaction_mean", "hotline_withdrawal_ratio",
                 "hotline_repeat_ratio", "hotline_response_seconds_mean", "hotline_on_time_reply_ratio",
                 "hotline_window_callbacks"]
        docs = ["Tickets received in the window", "Repeat complaints in the window",
                "Share of tickets received 18:00-09:00", "Evaluations per ticket", "Mean satisfaction score (1-5)",
                "Withdrawn tickets per ticket", "Repeat complaints per ticket", "Mean received-to-replied time",
                "Share of the window's replies given by the end of the ticket's deadline day (按时答复率)",
                "Bad ratings (1 or 2) to call back, by evaluation time"]
        fams = {n: GaugeMetricFamily(n, d, labels=["window"]) for n, d in zip(names, docs)}
        per_fams = {n: GaugeMetricFamily(n, f"{metric} per {dim} in the window", labels=labels)
                    for n, (dim, metric, labels) in PER_BREAKDOWN.items()}
        item_sat = GaugeMetricFamily("hotline_item_satisfaction_mean", "Mean satisfaction per item", labels=["window", "item"])
        chan_sat = GaugeMetricFamily("hotline_channel_satisfaction_mean", "Mean satisfaction per channel",
                                     labels=["window", "channel"])
        reply = GaugeMetricFamily("hotline_reply_type_ratio", "Share of replies of each type", labels=["window", "reply_type"])
        for w in WINDOW_NAMES:
            fields = all_time if w == "all" else store.window(w, end)
            groups = _split(fields)
            m = groups.get("all", {}).get("", {})
            t = m.get("tickets", 0)
            fams["hotline_window_tickets"].add_metric([w], t)
            fams["hotline_window_repeat_tickets"].add_metric([w], m.get("repeat", 0))
            fams["hotline_window_callbacks"].add_metric([w], m.get("callback", 0))
            if t:
                fams["hotline_off_hours_ratio"].add_metric([w], m.get("off_hours", 0) / t)
                fams["hotline_evaluation_ratio"].add_metric([w], m.get("evaluated", 0) / t)
                fams["hotline_withdrawal_ratio"].add_metric([w], m.get("withdrawn", 0) / t)
                fams["hotline_repeat_ratio"].add_metric([w], m.get("repeat", 0) / t)
            if m.get("evaluated"):
                fams["hotline_satisfaction_mean"].add_metric([w], m["sat_sum"] / m["evaluated"])
            if m.get("replied"):
                fams["hotline_response_seconds_mean"].add_metric([w], m.get("response_s", 0) / m["replied"])
                fams["hotline_on_time_reply_ratio"].add_metric([w], m.get("replied_on_time", 0) / m["replied"])
                for rt in REPLY_TYPES:
                    reply.add_metric([w, rt], m.get(f"reply_{rt}", 0) / m["replied"])
            for n, (dim, metric, _) in PER_BREAKDOWN.items():
                # Every taxonomy value, 0 when absent: a series that vanishes in quiet hours would
                # make Prometheus baselines average only the busy hours.
                present = groups.get(dim, {})
                for name in self._values(store, dim):
                    per_fams[n].add_metric([w, name], present.get(name, {}).get(metric, 0))
            for name, mm in sorted(groups.get("item", {}).items()):
                if mm.get("evaluated"):
                    item_sat.add_metric([w, name], mm["sat_sum"] / mm["evaluated"])
            for name, mm in sorted(groups.get("channel", {}).items()):
                if mm.get("evaluated"):
                    chan_sat.add_metric([w, name], mm["sat_sum"] / mm["evaluated"])
        yield from fams.values()
        yield from per_fams.values()
        yield item_sat
        yield chan_sat
        yield reply
        from streams.commands.hotspots import WINDOWS as HOT_WINDOWS, read_hot

        hot = GaugeMetricFamily("hotline_hot_cluster_tickets", "Tickets in the N-th hottest complaint cluster "
                                "(published by `hotline hotspots`)", labels=["window", "rank"])
        for w in HOT_WINDOWS:
            for row in read_hot(store.r, store.ns, w):
                hot.add_metric([w, str(row["rank"])], row["count"])
        yield hot

    def _monitors(self, store: CounterStore, all_time):
        """Open and overdue tickets and the rising scores at the window clock (streams/core/monitors.py),
        for every item and district of the taxonomy (bounded labels; 0 when there is none)."""
        from streams.commands.snapshot import read_monitors

        scopes = {dim: self._values(store, dim) for dim in ("item", "district")}
        mon = read_monitors(store, store.window_end(self.window_clock), all_time, scopes)
        od = mon["overdue"] if mon else {"open": 0, "overdue": 0, "by_item": {}, "by_district": {}}
        g = GaugeMetricFamily("hotline_open_tickets", "Tickets neither replied nor withdrawn")
        g.add_metric([], od["open"])
        yield g
        g = GaugeMetricFamily("hotline_overdue_tickets", "Open tickets past their reply deadline (逾期工单)")
        g.add_metric([], od["overdue"])
        yield g
        for dim, label in (("item", "item"), ("district", "district")):
            rows = od[f"by_{dim}"]
            for what, doc in (("open", "Open tickets"), ("overdue", "Overdue tickets")):
                g = GaugeMetricFamily(f"hotline_{dim}_{what}_tickets", f"{doc} per {label}", labels=[label])
                for name in scopes[dim]:
                    g.add_metric([name], rows.get(name, {}).get(what, 0))
                yield g
        rising = mon["rising"] if mon else {"weeks": 0}
        g = GaugeMetricFamily("hotline_rising_baseline_weeks", "Previous weeks the rising scores compare with (0-4)")
        g.add_metric([], rising["weeks"])
        yield g
        for dim in ("item", "district"):
            score = GaugeMetricFamily(f"hotline_{dim}_rising_score", f"Tickets of the last 3 hours per {dim} against "
                                      "the same hours of previous weeks: (observed - mean) / sqrt(var + mean + 1)",
                                      labels=[dim])
            observed = GaugeMetricFamily(f"hotline_{dim}_rising_tickets", f"Tickets of the last 3 hours per {dim}",
                                         labels=[dim])
            expected = GaugeMetricFamily(f"hotline_{dim}_rising_expected",
                                         f"Mean tickets of the same 3 hours of previous weeks per {dim}", labels=[dim])
            for name, row in rising.get(f"by_{dim}", {}).items():
                observed.add_metric([name], row["observed"])
                if row["score"] is not None:  # no previous week counted yet: no score, no alert
                    score.add_metric([name], row["score"])
                    expected.add_metric([name], row["expected"])
            yield score
            yield observed
            yield expected

    @staticmethod
    def _values(store: CounterStore, dim: str) -> list[str]:
        codec = store.codec
        return {"item": codec.items, "channel": codec.channels, "district": codec.districts}[dim]

    def _alerts(self, store: CounterStore):
        counts = store.r.hgetall(store.k("alerts"))
        fam = CounterMetricFamily("hotline_repeat_spike_alerts", "Spike alert events emitted", labels=["scope_type"])
        for scope_type in ("item", "district"):
            fam.add_metric([scope_type], int(counts.get(scope_type, 0)))
        yield fam
        score = GaugeMetricFamily("hotline_repeat_spike_score", "Latest spike score of scopes that alerted in the last 2 h",
                                  labels=["scope_type", "scope"])
        for key, value in sorted(store.r.hgetall(store.k("alerts:score")).items()):
            scope_type, _, scope = key.partition("|")
            score.add_metric([scope_type, scope], float(value))
        yield score


def serve(store, addr: tuple[str, int], window_clock: str = "auto"):
    """Serve /metrics on addr until interrupted; returns (server, thread)."""
    from prometheus_client import CollectorRegistry, start_http_server

    registry = CollectorRegistry(auto_describe=False)
    registry.register(HotlineCollector(store, window_clock))
    return start_http_server(addr[1], addr=addr[0], registry=registry)


def serve_forever(settings) -> int:
    import signal
    import threading

    from schemas.taxonomy import load_taxonomy
    from streams.adapters.namespaces import visible
    from streams.adapters.store import CounterStore, connect

    client = connect(settings.redis_url, settings.redis_ssl_ca_certs)
    taxonomy = load_taxonomy()

    def store_for_scrape() -> CounterStore:
        # Resolved once per scrape: `hotline namespace activate` switches the exporter atomically,
        # without a restart, and no scrape mixes two namespaces.
        return CounterStore(client, visible(settings, client), taxonomy)

    store = store_for_scrape
    host, port = settings.exporter_host_port
    server, _thread = serve(store, (host, port), settings.window_clock)
    print(f"hotline exporter: http://{host}:{port}/metrics", flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        stop.wait()
    except KeyboardInterrupt:
        pass
    server.shutdown()
    return 0

"""Counters in Redis: offset-fenced batch writes (one Lua call each) and cheap window reads.

Cluster-ready: every key a batch touches carries the hash tag of its namespace and Kafka partition,
`{ns:<topic>:<p>}`, so each Lua call stays inside one hash slot of a Redis Cluster (and works the
same on a single Redis). Readers sum the partitions, one pipelined round trip per node. Per
partition `P = {ns:topic:p}`:
    P:part                  hash  hwm (the fence: last offset applied), pwm (the partition's window
                                  clock "wm|t1,t2,…", see windows.advance_watermark), wm (newest
                                  window clock applied), lag, last_batch (wall time)
    P:all                   hash  all-time counter fields "<dim>|<value>|<metric>"
    P:b:<res>:<start>       hash  the same fields for one event-time bucket
    P:idx:<res>             zset  bucket keys by start, for pruning
    P:pipe                  hash  pipeline counters: records, events|<outcome>, dlq|<reason>, late, gap,
                                  members|sent (stage 1), members|in (stage 2)
    P:wait                  zset  "<state shard>\x1f<ticket id>" of tickets with parked follow-ups,
                                  scored by the earliest one's time (orphaned past the horizon)
    P:st:<n>                hash  ticket id -> compact ticket state (small hashes stay listpack-encoded,
                                  ~40 bytes a ticket); a ticket whose creation has not arrived holds
                                  "~" + its parked follow-ups as JSON
    P:rg:<n>                hash  repeat group key -> members (partitions of the members topic only)
    P:rx:<scope>            list  "<wall clock µs>|<ticket id>" of the last repeat tickets of a scope, for
                                  alert events (readers merge the partitions newest first)
Per namespace `N = {ns}`: N:meta (taxonomy, created, layout), N:parts (set of "<topic>:<p>" ever
applied: what readers sum), N:alerts, N:alerts:score, N:alerted:*, N:hot.

Ticket states live with the raw topic's partition (the producer keys by ticket id). Repeat groups
span partitions, so they are counted by a second fenced stage: stage 1 sends each new ticket's
group memberships to the members topic keyed by group key (streams.adapters.fenced), and the
members topic's partitions own the groups (`P:rg:*`).
"""
from __future__ import annotations

import json
import time
import zlib
from dataclasses import dataclass
from importlib import resources
from typing import Callable, Iterable, Iterator

import orjson
import redis

from schemas.taxonomy import Taxonomy, UNKNOWN
from streams.core.bucket_sums import FieldIds, bucket_sums
from streams.core.counting import REPLY_TYPES, Parked, TicketState
from streams.core.pipeline import BatchResult
from streams.core.windows import RESOLUTIONS, WINDOWS, PartitionClock, advance_watermark, bucket_start, window_buckets

STATE_SHARDS = 8192  # per partition
LAYOUT = "2"  # the key layout above; a namespace of another layout is refused, never misread
RS, US = "\x1e", "\x1f"  # record and unit separators of the Lua call's blobs
_LUA = resources.files("streams.adapters").joinpath("apply_batch.lua").read_text()
# Waiting tickets (parked follow-ups the batch may orphan) read with a batch: a first bound on
# one read's size; more are read when there are more.
WAITING_READ = 500
_READ_LUA = resources.files("streams.adapters").joinpath("read_batch.lua").read_text()


class StateCodec:
    """Ticket state <-> "facts|received|item|sub|channel|district|rights|reply" as taxonomy indices.

    Indices keep a state under Redis's 64-byte listpack value limit; the namespace records the
    taxonomy fingerprint so a changed taxonomy is rebuilt into a new namespace, never misread.
    """

    def __init__(self, taxonomy: Taxonomy):
        self.items = list(taxonomy.items)
        self.subs = {i: list(taxonomy.subcategories[i]) for i in self.items}
        self.channels = list(taxonomy.channels)
        self.districts = list(taxonomy.districts)
        self.rights = list(taxonomy.rights_claims)
        self.replies = list(REPLY_TYPES)
        self._ix = {name: {v: str(k) for k, v in enumerate(vals)} for name, vals in
                    (("i", self.items), ("c", self.channels), ("d", self.districts), ("r", self.rights),
                     ("y", self.replies))}
        self._sub_ix = {i: {v: str(k) for k, v in enumerate(s)} for i, s in self.subs.items()}
        self.fingerprint = format(zlib.crc32("\n".join(
            self.items + self.channels + self.districts + self.rights
            + [f"{i}/{s}" for i in self.items for s in self.subs[i]]).encode()), "08x")

    def encode(self, s: TicketState) -> str:
        if not s.created:  # waiting for its creation: only parked follow-ups (rare, and may be large)
            return "~" + json.dumps([[p.event, p.at, p.value, p.origin] for p in s.parked], separators=(",", ":"))
        ix = self._ix
        parts = [s.facts, str(s.received_at), ix["i"][s.item], self._sub_ix[s.item].get(s.sub, ""),
                 ix["c"][s.channel], ix["d"][s.district], ix["r"][s.rights],
                 ix["y"][s.reply_type] if s.reply_type else ""]
        if "e" in s.facts:
            parts += [str(s.score), str(s.evaluated_at)]
        return "|".join(parts)

    def encode_group(self, group) -> str:
        """`id,time,flag,dims` per member, `;`-separated; a flagged member without its dims (it is never
        counted again)."""
        ix = self._ix
        parts = []
        for m in group.members:
            if m.flagged:
                parts.append(f"{m.ticket_id},{m.received_at},1")
                continue
            d = dict(m.dims)
            item = d["item"]
            sub = d["sub"].split("/", 1)[1]
            parts.append(f"{m.ticket_id},{m.received_at},0,{ix['i'][item]}.{self._sub_ix[item].get(sub, '')}."
                         f"{ix['c'][d['channel']]}.{ix['d'][d['district']]}.{ix['r'][d['rights']]}")
        return ";".join(parts)

    def decode_group(self, raw: str):
        from streams.core.repeats import Group, Member, member_order

        members = []
        for part in raw.split(";"):
            tid, t, f, *dims = part.split(",")
            if f == "1":  # flagged: its dims are not needed (and not written)
                members.append(Member(tid, int(t), True, ()))
                continue
            i, s, c, d, r = dims[0].split(".")
            item = self.items[int(i)]
            st = TicketState("", 0, item, self.subs[item][int(s)] if s else UNKNOWN, self.channels[int(c)],
                             self.districts[int(d)], self.rights[int(r)])
            members.append(Member(tid, int(t), False, tuple(st.dims())))
        members.sort(key=member_order)  # groups written before they were kept sorted
        return Group(members)

    def decode(self, raw: str) -> TicketState:
        if raw.startswith("~"):
            return TicketState(parked=tuple(Parked(e, int(at), v, o) for e, at, v, o in json.loads(raw[1:])))
        f, t, i, s, c, d, r, y, *evaluation = raw.split("|")
        item = self.items[int(i)]
        score, evaluated_at = (int(evaluation[0]), int(evaluation[1])) if evaluation else (0, 0)
        return TicketState(f, int(t), item, self.subs[item][int(s)] if s else UNKNOWN, self.channels[int(c)],
                           self.districts[int(d)], self.rights[int(r)], self.replies[int(y)] if y else "",
                           score, evaluated_at)


def state_shard(ticket_id: str) -> str:
    return f"st:{zlib.crc32(ticket_id.encode()) % STATE_SHARDS}"


def connect(url: str, ssl_ca_certs: str = ""):
    """A client for `url`: a Redis Cluster client when the server says it is a cluster node
    (`INFO cluster`), so a URL naming any node of a cluster just works; else a plain client."""
    kwargs = {"decode_responses": True, "socket_timeout": 30, "socket_connect_timeout": 5}
    if url.startswith("rediss://") and ssl_ca_certs:
        kwargs["ssl_ca_certs"] = ssl_ca_certs
    plain = redis.Redis.from_url(url, health_check_interval=15, **kwargs)
    try:
        enabled = plain.info("cluster").get("cluster_enabled") == 1
    except redis.RedisError:
        return plain  # not answering yet: a single Redis is the default; callers retry their calls
    if not enabled:
        return plain
    plain.close()
    from redis.cluster import RedisCluster

    return RedisCluster.from_url(url, **kwargs)


def is_cluster(client) -> bool:
    from redis.cluster import RedisCluster

    return isinstance(client, RedisCluster)


class FenceMoved(Exception):
    """The partition's high-water mark changed since it was read: another writer got there first."""


def _was_waiting(view: PartitionView, tid: str) -> bool:
    before = view.states.get(tid)
    return before is not None and bool(before.parked)


def group_shard(key: str) -> str:
    return f"rg:{zlib.crc32(key.encode()) % STATE_SHARDS}"


@dataclass
class PartitionView:
    """What a batch of one partition needs from Redis, read in one call."""
    hwm: int  # the fence: last offset applied, -1 when none
    watermark: int  # the namespace's window clock
    states: dict[str, TicketState | None]
    groups: dict = None  # group key -> Group | None
    group_raw: dict = None  # group key -> the raw value read (for the optimistic check)
    fenced: bool = True  # False: no worker ever applied this partition
    partition_watermark: int = 0
    recent: list[int] = None  # the partition's last event times
    waiting: list[str] = None  # tickets whose parked follow-ups the batch may orphan

    def clock(self) -> PartitionClock:
        """The partition's window clock as the batch finds it (Processor.process moves it)."""
        return PartitionClock(self.recent, self.partition_watermark)


class CounterStore:
    def __init__(self, client, namespace: str, taxonomy: Taxonomy):
        self.r = client
        self.ns = namespace
        self.taxonomy = taxonomy
        self.codec = StateCodec(taxonomy)
        self.field_ids = FieldIds()
        self._apply = client.register_script(_LUA)
        self._read = client.register_script(_READ_LUA)
        self._known: set[str] = set()  # partitions registered in N:parts by this process

    def k(self, suffix: str) -> str:
        """A namespace-level key."""
        return f"{{{self.ns}}}:{suffix}"

    def pk(self, fence: str, suffix: str) -> str:
        """A key of one partition ("<topic>:<p>"): its hash tag keeps a batch in one slot."""
        return f"{self.prefix(fence)}:{suffix}"

    def prefix(self, fence: str) -> str:
        return f"{{{self.ns}:{fence}}}"

    # ---- setup -------------------------------------------------------------------------------
    def claim_namespace(self) -> None:
        """Record the taxonomy this namespace counts with; refuse to mix two taxonomies in one."""
        meta = self.k("meta")
        self.r.hsetnx(meta, "taxonomy", self.codec.fingerprint)
        self.r.hsetnx(meta, "created", int(time.time()))
        self.r.hsetnx(meta, "layout", LAYOUT)
        found = self.r.hmget(meta, ["taxonomy", "layout"])
        if found[0] != self.codec.fingerprint:
            raise RuntimeError(
                f"namespace {self.ns!r} was counted with taxonomy {found[0]}, this build has "
                f"{self.codec.fingerprint}: rebuild into a new namespace (hotline rebuild)")
        if found[1] != LAYOUT:
            raise RuntimeError(f"namespace {self.ns!r} has key layout {found[1]}, this build writes {LAYOUT}: "
                               "rebuild into a new namespace (hotline rebuild)")

    def register(self, fence: str) -> None:
        """Make a partition known to readers before its first write (SADD is idempotent)."""
        if fence not in self._known:
            self.r.sadd(self.k("parts"), fence)
            self._known.add(fence)

    def partitions(self) -> list[str]:
        return sorted(self.r.smembers(self.k("parts")))

    # ---- the write path ----------------------------------------------------------------------
    def read_partition(self, fence: str, ticket_ids: Iterable[str], group_keys: Iterable[str] = (),
                       orphan_horizon_s: int = 30 * 86400, newest: int = 0) -> PartitionView:
        """`newest`: the batch's newest event time, so the view holds the waiting tickets whose parked
        follow-ups the batch may orphan (Processor.orphan_bound)."""
        ids = list(ticket_ids)
        keys = list(group_keys)
        blob = RS.join([f"{state_shard(t)}{US}{t}" for t in ids] + [f"{group_shard(k)}{US}{k}" for k in keys])
        limit = WAITING_READ
        while True:
            out = [v or None for v in self._read(keys=[self.pk(fence, "part")],
                                                 args=[self.prefix(fence), blob, orphan_horizon_s, newest, limit])]
            if (out[3] or "").count(RS) + 1 < limit:
                break
            # As many waiting tickets as asked for: there may be more, and the batch must orphan
            # every one the report would (a partition silent for a month, a replay of replies
            # whose tickets never came). Read again with room for all (rare; reads change nothing).
            limit *= 8
        hwm = int(out[0]) if out[0] is not None else -1
        wm = int(out[1] or 0)
        pwm, _, recent = (out[2] or "0|").partition("|")
        waiting = [m.split(US, 1) for m in (out[3] or "").split(RS) if m]
        values = out[4:]
        states = {tid: (self.codec.decode(raw) if raw else None) for tid, raw in zip(ids, values[:len(ids)])}
        group_raw = dict(zip(keys, values[len(ids):len(ids) + len(keys)]))
        groups = {k: (self.codec.decode_group(raw) if raw else None) for k, raw in group_raw.items()}
        for (_, tid), raw in zip(waiting, values[len(ids) + len(keys):]):
            states.setdefault(tid, self.codec.decode(raw) if raw else None)
        return PartitionView(hwm, wm, states, groups, group_raw, out[0] is not None, int(pwm),
                             [int(t) for t in recent.split(",") if t], [tid for _, tid in waiting])

    def fence_offset(self, fence: str) -> int | None:
        """The last offset applied for the partition, or None when no worker ever applied it."""
        value = self.r.hget(self.pk(fence, "part"), "hwm")
        return None if value is None else int(value)

    def fences_of(self, fences: Iterable[str]) -> dict[str, int]:
        """The fences of the given partitions that have one (read directly, not through N:parts)."""
        fences = list(fences)
        with self.r.pipeline(transaction=False) as p:
            for fence in fences:
                p.hget(self.pk(fence, "part"), "hwm")
            got = p.execute()
        return {f: int(v) for f, v in zip(fences, got) if v is not None}

    def open_fence(self, fence: str, first_offset: int) -> None:
        """Declare that this namespace counts the partition from `first_offset` (a rebuild that
        starts near its range). HSETNX: an existing fence always wins."""
        self.register(fence)
        self.r.hsetnx(self.pk(fence, "part"), "hwm", first_offset - 1)

    def apply(self, fence: str, view: PartitionView, offsets: list[int], result: BatchResult, lag: int = 0,
              sent: int = 0, meanwhile: Callable[[], None] | None = None) -> None:
        """Apply a processed batch of a partition (`offsets`: the records read, in order; the fence
        moves to the last). Raises FenceMoved when the partition's offset, or a repeat group the
        batch read, changed meanwhile (the caller re-reads and recomputes); Redis itself refuses
        offsets at or below its fence. `sent`: member records this batch sent to the members topic.
        `meanwhile`: work for this thread while Redis runs the batch (see `run_script`)."""
        if not view.fenced:
            self.register(fence)
        args = self.encode_batch(fence, view, offsets, result, lag, sent)
        ok, current = self.run_script(self._apply, [self.pk(fence, "part")], args, meanwhile)
        if int(ok) != 1:
            raise FenceMoved(f"{fence}: expected offset {view.hwm}, Redis has {current}")

    def run_script(self, script, keys: list, args: list, meanwhile: Callable[[], None] | None = None):
        """Run a Lua script. With `meanwhile`, the call is sent, `meanwhile()` runs while Redis works
        on it, and then its answer is read: the worker cleans and classifies its next batch in the
        time it would have waited, in this one thread (two threads contended for the GIL: their CPU
        rose by as much as the overlap saved). On a cluster the call goes to the node owning the
        keys' slot; a slot that moved is followed by the cluster client itself."""
        if meanwhile is None:
            return script(keys=keys, args=args)
        client = self.r
        if is_cluster(client):
            node = client.get_node_from_key(keys[0])
            client = node.redis_connection if node is not None else None
        if client is None or getattr(client, "connection", None) is not None:
            meanwhile()
            return script(keys=keys, args=args)
        pool = client.connection_pool
        conn = pool.get_connection()
        try:
            conn.send_command("EVALSHA", script.sha, len(keys), *keys, *args)
            try:
                meanwhile()
            except BaseException:
                conn.disconnect()  # its answer is still on the way: this connection cannot be reused
                raise
            try:
                return client.parse_response(conn, "EVALSHA")
            except redis.exceptions.NoScriptError:
                pass  # Redis lost its scripts (a restart): loaded and run again below
            except (redis.exceptions.MovedError, redis.exceptions.AskError, redis.exceptions.TryAgainError,
                    redis.exceptions.ClusterDownError):
                if client is self.r:
                    raise
                # the slot is elsewhere or moving (nothing ran): the cluster client follows it below
        except (redis.ConnectionError, redis.TimeoutError, OSError):
            conn.disconnect()
            raise
        finally:
            pool.release(conn)
        return script(keys=keys, args=args)

    def encode_batch(self, fence: str, view: PartitionView, offsets: list[int], result: BatchResult, lag: int,
                     sent: int = 0) -> list:
        expected_hwm, watermark = view.hwm, view.watermark
        # Offsets missing inside the batch: Kafka leaves them for transaction markers and compaction.
        inner_gaps = offsets[-1] - offsets[0] + 1 - len(offsets)
        if result.clock is not None:  # moved record by record while the batch was processed
            recent, pwm = result.clock.recent, result.clock.watermark
        else:
            recent, pwm = advance_watermark(view.recent or [], result.event_times, view.partition_watermark)
        wm = max(watermark, pwm)
        # The increments summed per bucket with numpy (streams/core/bucket_sums.py: 21 µs a record
        # of the year in Python dictionaries before), then one JSON document for the Lua call,
        # decoded there by Redis' own cjson (C). Parsing \30/\31 blobs in Lua cost Redis ~120 µs a
        # record of the year, more than the HINCRBYs themselves (50 µs). Amounts go as strings:
        # a Lua number passed to redis.call is formatted with printf("%.14g") (2.3 % of Redis'
        # samples in a replay); 1.2M HINCRBYs on a bare Redis took 1.6-2.0 s of its CPU instead of 2.2-2.4.
        sums = bucket_sums(result.increments, wm, self.field_ids, as_text=True)
        pipe = dict(result.pipeline)
        if sent:
            pipe["members|sent"] = pipe.get("members|sent", 0) + sent
        if sums.late:
            pipe["late"] = pipe.get("late", 0) + sums.late
        incr = sums.buckets
        incr["all"] = sums.all_time
        incr["pipe"] = [x for f, v in pipe.items() if v for x in (f, v)]
        states = [[state_shard(tid), tid, self.codec.encode(st)] for tid, st in result.states.items()]
        bucket_list = [[key, idx, start, ttl] for key, (idx, start, ttl) in sums.meta.items()]
        prune = [[f"idx:{res.name}", bucket_start(wm - res.retention, res)] for res in RESOLUTIONS]
        raw = view.group_raw or {}
        groups = [[group_shard(key), key, raw.get(key) or "", self.codec.encode_group(group)]
                  for key, group in result.groups.items()]
        # The last few repeat tickets per scope: alert events cite them (ids only, no personal data).
        # Each prefixed with the wall clock in µs (+ its place in the batch): a scope's examples sit in
        # several partitions' lists, and the reader merges them newest first.
        now_us = time.time_ns() // 1000
        examples = [[f"rx:{scope}", f"{now_us + i}|{tid}"] for i, (scope, tid) in enumerate(result.repeat_examples[-200:])]
        waiting = [[state_shard(tid), tid, min(p.at for p in st.parked) if st.parked else ""]
                   for tid, st in result.states.items() if st.parked or _was_waiting(view, tid)]
        pwm_record = f"{pwm}|{','.join(map(str, recent))}"
        payload = orjson.dumps({"incr": incr, "states": states, "buckets": bucket_list, "prune": prune,
                                "groups": groups, "examples": examples, "waiting": waiting})
        return [self.prefix(fence), expected_hwm, offsets[0], offsets[-1], wm, int(time.time()), lag, pwm_record,
                inner_gaps, payload]

    # ---- the read path: every partition summed -------------------------------------------------
    def _each(self, suffix: str, call=lambda p, key: p.hgetall(key)) -> list:
        """`call(pipeline, key)` on `suffix` of every partition, pipelined (one round trip per node)."""
        parts = self.partitions()
        with self.r.pipeline(transaction=False) as p:
            for fence in parts:
                call(p, self.pk(fence, suffix))
            return list(zip(parts, p.execute()))

    @staticmethod
    def _sum(maps: Iterable[dict]) -> dict[str, int]:
        total: dict[str, int] = {}
        for m in maps:
            for f, v in m.items():
                total[f] = total.get(f, 0) + int(v)
        return total

    def repeat_examples(self, scope: str, n: int = 5) -> list[str]:
        """The newest `n` repeat tickets of a scope, across partitions."""
        entries = [e for _, found in self._each(f"rx:{scope}", lambda p, k: p.lrange(k, 0, n - 1)) for e in found]
        out: list[str] = []
        for entry in sorted(entries, key=lambda e: -int(e.partition("|")[0])):
            tid = entry.partition("|")[2]
            if tid not in out:
                out.append(tid)
        return out[:n]

    def meta(self) -> dict[str, str]:
        """The namespace's meta, with `watermark` (newest window clock of any partition) and
        `last_batch` (newest write) taken from the partitions."""
        meta = self.r.hgetall(self.k("meta"))
        parts = [p for _, p in self._parts()]
        if parts:
            meta["watermark"] = str(max(int(p.get("wm") or 0) for p in parts))
            meta["last_batch"] = str(max(int(p.get("last_batch") or 0) for p in parts))
        return meta

    def pipeline_counters(self) -> dict[str, int]:
        return self._sum(m for _, m in self._each("pipe"))

    @staticmethod
    def all_counted(pipe: dict[str, int], records: int) -> bool:
        """`records` raw records are counted, and the repeat stage has joined every membership the raw
        stage sent for them (repeat counts trail the raw stage by `members|sent - members|joined`)."""
        return pipe.get("records", 0) >= records and pipe.get("members|joined", 0) >= pipe.get("members|sent", 0)

    def all_time(self) -> dict[str, int]:
        return self._sum(m for _, m in self._each("all"))

    def offsets(self) -> dict[str, int]:
        return {f: int(hwm) for f, hwm in self._each("part", lambda p, k: p.hget(k, "hwm")) if hwm is not None}

    def _parts(self) -> list[tuple[str, dict]]:
        return self._each("part")

    def lags(self) -> dict[str, int]:
        return {f: int(p["lag"]) for f, p in self._parts() if "lag" in p}

    def window(self, window: str, end: int) -> dict[str, int]:
        if window == "all":
            return self.all_time()
        res, starts = window_buckets(window, end)
        parts = self.partitions()
        with self.r.pipeline(transaction=False) as p:
            for fence in parts:
                for s in starts:
                    p.hgetall(self.pk(fence, f"b:{res.name}:{s}"))
            return self._sum(p.execute())

    def buckets(self, res_name: str, since: int | None = None, starts: Iterable[int] = ()) -> dict[int, dict[str, int]]:
        """Single buckets of a resolution (not summed over time, summed over partitions): those
        starting at `since` or later (by the index), and/or the ones at `starts`. For the monitors."""
        wanted = set(starts)
        if since is not None:
            for _, found in self._each(f"idx:{res_name}",
                                       lambda p, k: p.zrangebyscore(k, since, "+inf", withscores=True)):
                wanted |= {int(score) for _, score in found}
        ordered = sorted(wanted)
        parts = self.partitions()
        with self.r.pipeline(transaction=False) as p:
            for fence in parts:
                for s in ordered:
                    p.hgetall(self.pk(fence, f"b:{res_name}:{s}"))
            got = p.execute()
        out: dict[int, dict[str, int]] = {}
        for i, part in enumerate(got):
            if part:
                acc = out.setdefault(ordered[i % len(ordered)], {})
                for f, v in part.items():
                    acc[f] = acc.get(f, 0) + int(v)
        return dict(sorted(out.items()))

    def bucket_span(self, res_name: str) -> tuple[int, int] | None:
        """The oldest and newest bucket starts kept at a resolution, or None when there is none."""
        firsts = [int(f[0][1]) for _, f in self._each(f"idx:{res_name}", lambda p, k: p.zrange(k, 0, 0, withscores=True)) if f]
        lasts = [int(f[0][1]) for _, f in self._each(f"idx:{res_name}", lambda p, k: p.zrange(k, -1, -1, withscores=True)) if f]
        return (min(firsts), max(lasts)) if firsts and lasts else None

    def window_end(self, clock: str = "auto", now: float | None = None) -> int:
        """Where windows end: the newest event time when replaying history, else the wall clock."""
        now = int(time.time() if now is None else now)
        wm = int(self.meta().get("watermark") or 0)
        if clock == "event" or (clock == "auto" and wm and wm < now - WINDOWS["30d"][0]):
            return wm
        return max(now, wm)

    def keys(self) -> Iterator[str]:
        """Every key of this namespace (SCAN on every node of a cluster, one slot-free pattern each)."""
        for pattern in (f"{{{self.ns}}}:*", f"{{{self.ns}:*"):
            yield from self.r.scan_iter(match=pattern.replace("[", "\\[").replace("]", "\\]"), count=1000)

    def drop(self, keep: Iterable[str] = ()) -> int:
        """Delete every key of this namespace except `keep` (full key names); one key per DEL."""
        keep = set(keep)
        n = 0
        for key in list(self.keys()):
            if key not in keep:
                n += self.r.delete(key)
        self._known.clear()
        return n

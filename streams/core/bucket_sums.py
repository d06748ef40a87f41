"""A batch's increments -> the counter fields of every bucket they land in, summed (numpy).

What `CounterStore.encode_batch` sends to Redis: for each event-time bucket (5 minutes and hours by
the watched dimensions and metrics, days by every dimension, streams/core/windows.py) and for the all-time
hash, the fields "<dim>|<value>|<metric>" with their summed amounts, zeros left out. The plain
definition is `FieldTotals` per bucket (streams/core/counting.py): one dictionary update per
increment, dimension, metric and bucket, then a field string per sum. On the batches of a replayed
year (2,000 records spanning ~36 hours of a partition, 1.5 increments a record of 6-7 dimensions and
1-4 metrics) that was 21 µs a record, the largest part of what a worker does beyond the batch
report's own work. Here the Python loop only looks up small integer ids (an increment's dimension
values and metric names, `FieldIds`); the cross product, the bucket of each pair and the sums are
array operations, and a field's string is built once per process, not once per bucket and batch.
Tests hold it to the plain definition on random increments (tests/core/test_bucket_sums.py).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from streams.core.counting import Increment
from streams.core.windows import RESOLUTIONS, Resolution, bucket_start, is_late

METRIC_SPACE = 256  # metric names a process may meet (there are ~40); a field id is dv id * this + metric id


class _Ids(dict):
    """Value -> small integer, assigned on first sight (a dict subclass: `__getitem__` stays in C)."""

    def __init__(self, on_new):
        super().__init__()
        self.on_new = on_new

    def __missing__(self, key):
        value = self[key] = len(self)
        self.on_new(key)
        return value


class FieldIds:
    """Ids of the (dimension, value) pairs and metric names seen, and the field string of each id.

    Bounded by the taxonomy (items, subcategories, channels, districts, rights claims, reply types)
    and the metric names of streams/core/counting.py, so it lives as long as the process."""

    def __init__(self) -> None:
        self.prefixes: list[str] = []  # per dv id: "dim|value|"
        self.dims: list[str] = []  # per dv id: its dimension
        self.metrics: list[str] = []
        self.dv = _Ids(self._new_dv)
        self.metric = _Ids(self._new_metric)
        self._names = np.empty(0, dtype=object)  # field id -> its string, built on first use
        self._carried: dict[str, tuple[tuple[int, int], np.ndarray]] = {}  # res name -> (ids seen, mask)

    def _new_dv(self, dv: tuple[str, str]) -> None:
        self.prefixes.append(f"{dv[0]}|{dv[1]}|")
        self.dims.append(dv[0])

    def carried(self, res: Resolution) -> np.ndarray:
        """Per field id: whether `res`'s buckets hold that field (Resolution.carries)."""
        seen = (len(self.dims), len(self.metrics))
        cached = self._carried.get(res.name)
        if cached is None or cached[0] != seen:
            table = np.zeros((len(self.dims), METRIC_SPACE), dtype=bool)
            for i, d in enumerate(self.dims):
                table[i, :len(self.metrics)] = [res.carries(d, m) for m in self.metrics]
            cached = self._carried[res.name] = (seen, table.reshape(-1))
        return cached[1]

    def _new_metric(self, name: str) -> None:
        if len(self.metrics) >= METRIC_SPACE:
            raise ValueError(f"more than {METRIC_SPACE} metric names: {name!r} (a metric name built from data?)")
        self.metrics.append(name)

    def names(self, fids: np.ndarray) -> np.ndarray:
        """The field string of each field id (an object array)."""
        table = self._names
        if len(table) < self.space:
            grown = np.empty(self.space, dtype=object)
            grown[:len(table)] = table
            table = self._names = grown
        out = table[fids]
        missing = np.flatnonzero(out == None)  # noqa: E711 (elementwise)
        if len(missing):
            for i in missing.tolist():
                f = int(fids[i])
                table[f] = self.prefixes[f // METRIC_SPACE] + self.metrics[f % METRIC_SPACE]
            out = table[fids]
        return out

    @property
    def space(self) -> int:
        return len(self.prefixes) * METRIC_SPACE

    def number(self, fids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The distinct field ids (ascending) and each id's place among them: np.unique(fids,
        return_inverse=True) without its sort (a mark per id of the bounded id space)."""
        seen = np.zeros(self.space, dtype=bool)
        seen[fids] = True
        distinct = np.flatnonzero(seen)
        place = np.empty(self.space, dtype=np.int64)
        place[distinct] = np.arange(len(distinct), dtype=np.int64)
        return distinct, place[fids]


# Amounts as text (for Lua, see CounterStore.encode_batch): the small ones from a table, in C.
_DECIMAL = np.array([str(i) for i in range(1 << 16)], dtype=object)


def _as_text(amounts: np.ndarray) -> np.ndarray:
    out = _DECIMAL[np.clip(amounts, 0, len(_DECIMAL) - 1)]
    large = np.flatnonzero((amounts < 0) | (amounts >= len(_DECIMAL)))  # response times: seconds summed
    if len(large):
        out[large] = list(map(str, amounts[large].tolist()))
    return out


@dataclass
class BucketSums:
    buckets: dict[str, list]  # "b:<res>:<start>" -> [field, amount, field, amount, ...]
    meta: dict[str, tuple[str, int, int]]  # "b:<res>:<start>" -> (index zset suffix, start, ttl seconds)
    all_time: list  # [field, amount, ...]: every increment, late ones included
    late: int  # increments older than the longest retention: all-time only


def _flat(names: np.ndarray, amounts: np.ndarray, as_text: bool) -> np.ndarray:
    """[field, amount, field, amount, ...] as one object array (sliced per bucket by the caller)."""
    out = np.empty(2 * len(names), dtype=object)
    out[0::2] = names
    out[1::2] = _as_text(amounts) if as_text else amounts.tolist()
    return out


def _sums(codes: np.ndarray, amounts: np.ndarray, space: int, exact_in_float: bool) -> tuple[np.ndarray, np.ndarray]:
    """Codes in [0, space) with a non-zero sum of their amounts (ascending), and those sums."""
    if exact_in_float:  # a histogram: no sort (float64 holds every integer sum below 2**53 exactly)
        sums = np.bincount(codes, weights=amounts, minlength=space)
        codes = np.flatnonzero(sums != 0)  # on a bool array: ~7x faster than on the floats
        return codes, sums[codes].astype(np.int64)
    order = np.argsort(codes, kind="stable")
    codes, amounts = codes[order], amounts[order]
    starts = np.flatnonzero(np.r_[True, codes[1:] != codes[:-1]])
    sums = np.add.reduceat(amounts, starts)
    keep = sums != 0
    return codes[starts][keep], sums[keep]


def bucket_sums(increments: Sequence[Increment], watermark: int, ids: FieldIds, as_text: bool = False) -> BucketSums:
    """The fields of every bucket the increments land in (at `watermark`), and of all time.
    `as_text`: amounts as decimal strings (for a Lua script: see CounterStore.encode_batch)."""
    if not increments:
        return BucketSums({}, {}, [], 0)
    dv, metric = ids.dv, ids.metric
    dvs: list[int] = []
    mids: list[int] = []
    amounts: list[int] = []
    n_dims: list[int] = []
    n_metrics: list[int] = []
    for inc in increments:
        dims, metrics = inc.dims, inc.metrics
        dvs += map(dv.__getitem__, dims)
        mids += map(metric.__getitem__, metrics)
        amounts += metrics.values()
        n_dims.append(len(dims))
        n_metrics.append(len(metrics))
    # Each increment adds each of its metrics to each of its dimension values: the cross product of
    # the two, as positions into `dvs` and `mids` (increment-major, metrics inner).
    nd = np.array(n_dims, dtype=np.int64)
    nm = np.array(n_metrics, dtype=np.int64)
    pairs = nd * nm
    within = np.arange(int(pairs.sum()), dtype=np.int64) - np.repeat(np.cumsum(pairs) - pairs, pairs)
    per = np.repeat(nm, pairs)
    m_at = np.repeat(np.cumsum(nm) - nm, pairs) + within % per
    dv_ids = np.array(dvs, dtype=np.int64)[np.repeat(np.cumsum(nd) - nd, pairs) + within // per]
    amount = np.array(amounts, dtype=np.int64)[m_at]
    # The batch's distinct fields, numbered 0..n-1: a bucket's sums are a histogram over them.
    fids = dv_ids * METRIC_SPACE + np.array(mids, dtype=np.int64)[m_at]
    fields, field = ids.number(fids)
    names = ids.names(fields)
    n = len(fields)
    exact = float(np.abs(amount).sum(dtype=np.float64)) < 2 ** 52  # (a float sum: an int64 one could wrap)
    times = np.fromiter((inc.at for inc in increments), dtype=np.int64, count=len(increments))

    buckets: dict[str, list] = {}
    meta: dict[str, tuple[str, int, int]] = {}
    for res in RESOLUTIONS:
        touching = times >= watermark - res.retention  # an increment with no watched dimension still touches it
        if not touching.any():
            continue
        starts = bucket_start(times, res)  # elementwise on the array
        distinct, slot = np.unique(starts[touching], return_inverse=True)
        keys = [f"b:{res.name}:{start}" for start in distinct.tolist()]
        for key, start in zip(keys, distinct.tolist()):
            meta[key] = (f"idx:{res.name}", start, res.retention + 86400)
            buckets[key] = []
        pair_slot = np.full(len(times), -1, dtype=np.int64)
        pair_slot[touching] = slot
        pair_slot = np.repeat(pair_slot, pairs)
        keep = pair_slot >= 0
        if res.dimensions is not None or res.metrics is not None:
            keep &= ids.carried(res)[fids]
        codes, sums = _sums(pair_slot[keep] * n + field[keep], amount[keep], len(keys) * n, exact)
        where, which = np.divmod(codes, n)
        cuts = np.flatnonzero(np.r_[True, where[1:] != where[:-1], True]) if len(codes) else np.zeros(1, dtype=np.int64)
        flat = _flat(names[which], sums, as_text)
        for a, b in zip(cuts[:-1].tolist(), cuts[1:].tolist()):
            buckets[keys[int(where[a])]] = flat[2 * a:2 * b].tolist()
    # Every increment inside the retention lands in a daily bucket, and the late ones in none: the
    # all-time fields are the sum of all of them.
    which, sums = _sums(field, amount, n, exact)
    late = int(is_late(times, watermark).sum())
    return BucketSums(buckets, meta, _flat(names[which], sums, as_text).tolist(), late)

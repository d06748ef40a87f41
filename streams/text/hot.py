"""Hot issues: group similar complaints incrementally and rank the groups by heat.

Pipeline per message (all incremental, event-time driven, no global re-clustering):

1. key terms: jieba tokens (domain dictionary, stop words removed) of the title (counted
   twice) and the first ``content_chars`` characters; each term weighted tf × idf, idf from a
   sliding document-frequency table over the horizon (day buckets, so it forgets).  The top
   ``key_terms`` terms, plus the place tokens found (A市/A3区-style and Dongguan towns), form
   the message's signature set;
2. candidates: MinHash (``num_perm`` hashes) of the signature set, LSH with ``bands`` bands —
   clusters whose members share a band bucket;
3. verification: idf-weighted overlap of the message's terms with the candidate cluster's
   term profile (its most frequent key terms); join the best cluster at or above
   ``threshold``, otherwise start a new cluster.

Memory is bounded: clusters not seen for ``horizon`` are evicted (with their LSH entries and
day buckets); at most ``max_clusters`` are kept (least recently seen evicted first), and each
cluster keeps at most ``max_members`` recent members.

Heat of a cluster in a window = n + 0.5·max(0, n − n_prev) + log1p(likes), where n is the
number of its messages in the window, n_prev in the window before (growth), likes those of
its messages in the window.  Deterministic: no salted hashes (crc32), ties broken by id.
"""

from __future__ import annotations

import math
import re
import zlib
from collections import Counter, OrderedDict, defaultdict, deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from .segment import normalize, tokens

__all__ = ["HotIssueTracker", "HotCluster", "parse_window", "parse_time"]

_PRIME = (1 << 61) - 1
_PLACE = re.compile(r"^(?:[A-N]\d{0,2}[市县区]|.{1,6}(?:镇|街道|村|社区|小区|花园|新城|公寓|广场|大道|路))$")
# Terms that are frequent in every complaint and never name an issue.
_GENERIC = frozenset("""问题 反映 希望 请求 要求 解决 相关 部门 领导 政府 情况 投诉 咨询 建议 严重 处理 现在 已经 一直 市民 居民 业主
群众 老百姓 谢谢 您好 尊敬 请问 关于 存在 影响 造成 导致 进行 没有 不能 能否 是否 一下 今年 去年 时间 年 月 日 号 市 区 县 镇""".split())


def parse_window(text: str) -> timedelta:
    """'7d', '24h', '30m', '2w' → timedelta."""
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*", text or "")
    if not m:
        raise ValueError(f"bad window {text!r}: use e.g. 7d, 24h, 30m, 2w")
    n, unit = float(m.group(1)), m.group(2)
    return timedelta(**{{"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}[unit]: n})


def parse_time(value) -> datetime:
    if isinstance(value, datetime):
        return value.replace(tzinfo=None) if value.tzinfo else value
    if isinstance(value, (int, float)):  # epoch seconds → naive UTC
        return datetime.fromtimestamp(value, tz=timezone.utc).replace(tzinfo=None)
    s = str(value).strip().replace("T", " ").replace("Z", "")
    for fmt in ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d", "%Y/%m/%d %H:%M:%S", "%Y/%m/%d"):
        try:
            return datetime.strptime(s[:19], fmt)
        except ValueError:
            continue
    return datetime.fromisoformat(s).replace(tzinfo=None)


def _term_hash(term: str) -> int:
    return zlib.crc32(term.encode("utf-8"))


@dataclass
class HotCluster:
    cluster_id: int
    first_seen: datetime
    last_seen: datetime
    profile: Counter = field(default_factory=Counter)
    members: deque = field(default_factory=deque)  # (time, message_id, title, likes, terms)
    band_keys: set = field(default_factory=set)
    size: int = 0


class HotIssueTracker:
    def __init__(self, horizon: timedelta = timedelta(days=30), threshold: float = 0.4,
                 key_terms: int = 10, content_chars: int = 300, num_perm: int = 32, bands: int = 16,
                 max_clusters: int = 50_000, max_members: int = 500, profile_terms: int = 20):
        if num_perm % bands:
            raise ValueError("num_perm must be a multiple of bands")
        self.horizon = horizon
        self.threshold = threshold
        self.key_terms = key_terms
        self.content_chars = content_chars
        self.bands, self.rows = bands, num_perm // bands
        self.max_clusters = max_clusters
        self.max_members = max_members
        self.profile_terms = profile_terms
        # Deterministic MinHash permutations h(x) = (a·x + b) mod p.
        seed = 0x9E3779B97F4A7C15
        self._perm = []
        for i in range(num_perm):
            seed = (seed * 6364136223846793005 + 1442695040888963407) & ((1 << 64) - 1)
            a = (seed >> 3) % (_PRIME - 1) + 1
            seed = (seed * 6364136223846793005 + 1442695040888963407) & ((1 << 64) - 1)
            self._perm.append((a, (seed >> 3) % _PRIME))
        self._clusters: "OrderedDict[int, HotCluster]" = OrderedDict()  # by last_seen order
        self._lsh: dict[tuple[int, int], set[int]] = defaultdict(set)
        self._df_days: "OrderedDict[object, Counter]" = OrderedDict()
        self._df: Counter = Counter()
        self._n_docs = 0
        self._next_id = 1
        self._now: datetime | None = None

    # -- features ------------------------------------------------------------------------------
    def _idf(self, term: str) -> float:
        return math.log((1 + self._n_docs) / (1 + self._df[term])) + 1.0

    def _terms(self, title: str, content: str) -> dict[str, float]:
        title_toks = [t for t in tokens(title) if t not in _GENERIC and len(t) > 1]
        body = [t for t in tokens((content or "")[: self.content_chars + 64], max_chars=self.content_chars)
                if t not in _GENERIC and len(t) > 1]
        tf = Counter(title_toks * 2 + body)
        return {t: n for t, n in tf.items()}

    def _signature_terms(self, tf: dict[str, float]) -> dict[str, float]:
        scored = {t: (1 + math.log(n)) * self._idf(t) for t, n in tf.items()}
        top = dict(sorted(scored.items(), key=lambda kv: (-kv[1], kv[0]))[: self.key_terms])
        for t in tf:
            if _PLACE.match(t) and t not in top:
                top[t] = scored[t]
        return top

    def _band_keys(self, terms) -> set[tuple[int, int]]:
        hashes = [_term_hash(t) for t in terms]
        if not hashes:
            return set()
        sig = [min((a * h + b) % _PRIME for h in hashes) for a, b in self._perm]
        return {(i, hash(tuple(sig[i * self.rows:(i + 1) * self.rows]))) for i in range(self.bands)}

    # -- maintenance ---------------------------------------------------------------------------
    def _advance(self, t: datetime) -> None:
        if self._now is None or t > self._now:
            self._now = t
        cutoff = self._now - self.horizon
        while self._df_days and next(iter(self._df_days)) < cutoff.date():
            _, counts = self._df_days.popitem(last=False)
            self._df.subtract(counts)
            self._n_docs -= counts.get("\0docs", 0)
            for k in [k for k, v in counts.items() if self._df[k] <= 0]:
                self._df.pop(k, None)
        while self._clusters:
            cid, c = next(iter(self._clusters.items()))
            if c.last_seen >= cutoff and len(self._clusters) <= self.max_clusters:
                break
            self._drop(cid)

    def _drop(self, cid: int) -> None:
        c = self._clusters.pop(cid)
        for key in c.band_keys:
            bucket = self._lsh.get(key)
            if bucket is not None:
                bucket.discard(cid)
                if not bucket:
                    del self._lsh[key]

    def _count_df(self, t: datetime, terms) -> None:
        day = t.date()
        bucket = self._df_days.get(day)
        if bucket is None:
            bucket = self._df_days[day] = Counter()
            # Out-of-order days are rare; keep buckets sorted so eviction stays front-only.
            if len(self._df_days) > 1 and list(self._df_days)[-2] > day:
                for k in sorted(self._df_days):
                    self._df_days.move_to_end(k)
        bucket.update(terms)
        bucket["\0docs"] += 1
        self._df.update(terms)
        self._n_docs += 1

    # -- API -----------------------------------------------------------------------------------
    def add(self, message_id, time, title: str | None, content: str | None = None, likes: int = 0) -> int:
        """Assign a message to a cluster (new or existing) and return the cluster id."""
        t = parse_time(time)
        self._advance(t)
        title, content = normalize(title), content or ""
        tf = self._terms(title, content)
        self._count_df(t, tf.keys())
        sig = self._signature_terms(tf)
        keys = self._band_keys(sig)
        candidates = set()
        for key in keys:
            candidates |= self._lsh.get(key, set())
        best, best_sim = None, 0.0
        total = sum(sig.values()) or 1.0
        for cid in sorted(candidates):
            c = self._clusters.get(cid)
            if c is None:
                continue
            top = dict(c.profile.most_common(self.profile_terms))
            sim = sum(w for term, w in sig.items() if term in top) / total
            if sim > best_sim:
                best, best_sim = cid, sim
        if best is not None and best_sim >= self.threshold:
            c = self._clusters[best]
            c.last_seen = max(c.last_seen, t)
            c.first_seen = min(c.first_seen, t)
            self._clusters.move_to_end(best)
        else:
            best = self._next_id
            self._next_id += 1
            c = self._clusters[best] = HotCluster(best, t, t)
        c.size += 1
        c.profile.update(sig.keys())
        if len(c.profile) > 4 * self.profile_terms:  # bounded profile
            c.profile = Counter(dict(c.profile.most_common(2 * self.profile_terms)))
        c.members.append((t, message_id, title, int(likes or 0), tuple(sig)))
        while len(c.members) > self.max_members:
            c.members.popleft()
        new_keys = keys - c.band_keys
        for key in new_keys:
            self._lsh[key].add(best)
        c.band_keys |= new_keys
        return best

    def __len__(self) -> int:
        return len(self._clusters)

    def top(self, window_end=None, window: timedelta | str = timedelta(days=7), n: int = 10,
            min_count: int = 2) -> list[dict]:
        """The n hottest clusters active in (window_end − window, window_end]."""
        if isinstance(window, str):
            window = parse_window(window)
        end = parse_time(window_end) if window_end is not None else self._now
        if end is None:
            return []
        start, prev_start = end - window, end - 2 * window
        out = []
        for cid, c in self._clusters.items():
            in_win = [m for m in c.members if start < m[0] <= end]
            if len(in_win) < min_count:
                continue
            n_prev = sum(1 for m in c.members if prev_start < m[0] <= start)
            likes = sum(m[3] for m in in_win)
            heat = len(in_win) + 0.5 * max(0, len(in_win) - n_prev) + math.log1p(likes)
            top_terms = [t for t, _ in c.profile.most_common(8)]
            top_set = set(top_terms)
            rep = max(in_win, key=lambda m: (len(top_set.intersection(m[4])), m[3], -m[0].timestamp()))
            out.append({
                "cluster_id": cid, "title": rep[2], "key_terms": top_terms, "count": len(in_win),
                "count_previous_window": n_prev, "likes": likes, "total_count": c.size,
                "first_seen": c.first_seen.isoformat(sep=" "), "last_seen": c.last_seen.isoformat(sep=" "),
                "heat": round(heat, 3), "message_ids": [m[1] for m in in_win][:50],
            })
        out.sort(key=lambda d: (-d["heat"], -d["count"], d["cluster_id"]))
        return out[:n]

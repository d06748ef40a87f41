"""The replica's tickets: what happens to each one, decided once, independent of how it is written.

`generate_tickets()` yields complete `Ticket`s day by day in received order. Everything a ticket
will ever do (reply, evaluation, withdrawal) is drawn when it is received, from one RNG, so the
snapshot and lifecycle writers describe the very same tickets, and the dirty-record mixer (with its
own RNG) cannot change them.

Times are integer "local seconds": seconds since 1970-01-01 00:00 on the Asia/Shanghai wall clock.
Day and hour arithmetic is then plain integer division, and formatting appends "+08:00".
"""
from __future__ import annotations

import bisect
import json
import math
import random
from collections import deque
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache
from importlib import resources
from itertools import accumulate
from typing import Iterator

from streams.generate import calibration as cal
from streams.generate import text

DAY = 86_400
_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()
MOBILE_PREFIXES = ("138", "139", "137", "136", "135", "134", "150", "151", "152", "157", "158", "159", "182",
                   "183", "187", "188", "130", "131", "132", "155", "156", "185", "186", "133", "153", "180",
                   "181", "189", "177", "199", "198", "166")


@lru_cache(maxsize=None)
def load_taxonomy_doc() -> dict:
    return json.loads(resources.files("schemas").joinpath("taxonomy.json").read_text(encoding="utf-8"))


@lru_cache(maxsize=4096)
def _date_str(day: int) -> str:
    return date.fromordinal(_EPOCH_ORDINAL + day).isoformat()


def iso(t: int) -> str:
    """Local seconds -> '2024-03-05T21:07:33+08:00'."""
    day, sec = divmod(t, DAY)
    h, rem = divmod(sec, 3600)
    m, s = divmod(rem, 60)
    return f"{_date_str(day)}T{h:02d}:{m:02d}:{s:02d}+08:00"


def _month_day(t: int) -> str:
    d = date.fromordinal(_EPOCH_ORDINAL + t // DAY)
    return f"{d.month}月{d.day}日"


def local_seconds(d: date) -> int:
    return (d.toordinal() - _EPOCH_ORDINAL) * DAY


@dataclass(slots=True)
class Ticket:
    seq: int
    ticket_id: str
    received: int
    channel_raw: str  # as the platform wrote it
    channel: str  # canonical
    item: str  # the TRUE item, also when the record does not show it
    subcategory: str
    category_shown: str  # "yes", "null" (written as null) or "absent" (key left out)
    district: str
    department: str
    caller: str
    title: str
    content: str
    repeat_of: str | None
    withdrawn_at: int | None
    reply: str | None
    reply_type: str | None
    replied_at: int | None
    satisfaction: int | None
    evaluated_at: int | None

    @property
    def last_time(self) -> int:
        """The time of the ticket's last state change (a snapshot's event_time)."""
        return self.evaluated_at or self.replied_at or self.withdrawn_at or self.received


class QuotaSampler:
    """Bernoulli draws at `rate` whose running count tracks rate * trials within a few units.

    A plain Bernoulli count of 1,000 events has a standard deviation of ~32; the study's figures
    (e.g. 1,996 withdrawn + repeat) are matched far closer by nudging p by the running deficit.
    Ineligible trials still count towards the expectation, so the deficit is made up on the
    eligible ones. The horizon of 10/rate keeps p within ~10 % of the rate.
    """

    __slots__ = ("rate", "horizon", "expected", "actual")

    def __init__(self, rate: float):
        self.rate = rate
        self.horizon = 10.0 / rate if rate > 0 else 1.0
        self.expected = 0.0
        self.actual = 0

    def draw(self, rng: random.Random, eligible: bool = True) -> bool:
        self.expected += self.rate
        if not eligible or self.rate <= 0:
            return False
        if rng.random() < self.rate + (self.expected - self.actual) / self.horizon:
            self.actual += 1
            return True
        return False


def _cum(weights) -> list[float]:
    return list(accumulate(weights))


def _pick(rng: random.Random, options, cum: list[float]):
    return options[bisect.bisect_right(cum, rng.random() * cum[-1])]


def day_counts(n: int, year: int) -> list[tuple[date, int]]:
    """Tickets per day (exactly n in total) from the weekday, month and holiday curves.

    Deterministic largest-remainder rounding: the yearly total is an input, not a random outcome.
    """
    start = date(year, 1, 1)
    days = [start + timedelta(days=k) for k in range((date(year + 1, 1, 1) - start).days)]
    fest = tuple(date.fromisoformat(d) for d in cal.SPRING_FESTIVAL_2024)
    weights = []
    for d in days:
        w = cal.WEEKDAY_WEIGHTS[d.weekday()] * cal.MONTH_WEIGHTS[d.month - 1]
        if year == 2024 and fest[0] <= d <= fest[1]:
            w *= cal.SPRING_FESTIVAL_FACTOR
        weights.append(w)
    total = sum(weights)
    exact = [n * w / total for w in weights]
    counts = [math.floor(x) for x in exact]
    short = n - sum(counts)
    for k in sorted(range(len(days)), key=lambda k: (counts[k] - exact[k], k))[:short]:
        counts[k] += 1
    return list(zip(days, counts))


def hour_cum() -> list[float]:
    """Cumulative hour weights, on- and off-hours rescaled so off-hours carry OFF_HOURS_SHARE."""
    on = sum(cal.HOUR_WEIGHTS[h] for h in cal.ON_HOURS)
    off = sum(cal.HOUR_WEIGHTS) - on
    return _cum(cal.HOUR_WEIGHTS[h] * ((1 - cal.OFF_HOURS_SHARE) / on if h in cal.ON_HOURS else cal.OFF_HOURS_SHARE / off)
                for h in range(24))


def _delay(rng: random.Random, spec: tuple[float, float, float, float]) -> int:
    median, sigma, low, high = spec
    hours = min(high, max(low, rng.lognormvariate(math.log(median), sigma)))
    return int(hours * 3600)


class _Scorer:
    """Satisfaction scores whose per-item and per-channel means track their targets.

    Scores come from a two-component mixture (dissatisfied / satisfied) whose weight sets the
    mean. The mean asked for is the item's target plus two error-diffusion terms: the item's own
    running deficit and the channel's deficit against the item targets of its evaluations. Item
    means then land within a few hundredths of their targets even for items with 20 evaluations,
    and channels cannot drift apart by chance (channel is independent of satisfaction in the study).
    """

    def __init__(self) -> None:
        self.d_cum = _cum(cal.DISSATISFIED)
        self.s_cum = _cum(cal.SATISFIED)
        self.d_mean = sum((k + 1) * p for k, p in enumerate(cal.DISSATISFIED))
        self.s_mean = sum((k + 1) * p for k, p in enumerate(cal.SATISFIED))
        self.item_gap: dict[str, float] = {}  # sum(target) - sum(score)
        self.channel_gap: dict[str, float] = {}

    def score(self, rng: random.Random, item: str, channel: str) -> int:
        target = cal.ITEM_SATISFACTION[item]
        want = target + self.item_gap.get(item, 0.0) / 2 + self.channel_gap.get(channel, 0.0) / 4
        want = min(self.s_mean - 0.03, max(self.d_mean + 0.03, want))
        w_dis = (self.s_mean - want) / (self.s_mean - self.d_mean)
        cum = self.d_cum if rng.random() < w_dis else self.s_cum
        s = bisect.bisect_right(cum, rng.random() * cum[-1]) + 1
        self.item_gap[item] = self.item_gap.get(item, 0.0) + target - s
        self.channel_gap[channel] = self.channel_gap.get(channel, 0.0) + target - s
        return s


class _Setup:
    """Lookup tables derived once from the taxonomy and the calibration."""

    def __init__(self) -> None:
        doc = load_taxonomy_doc()
        self.items = [it["name"] for it in doc["items"]]
        shares = cal.ITEM_SHARES_PCT
        missing = set(self.items) ^ set(shares)
        if missing:
            raise ValueError(f"calibration and taxonomy disagree on items: {sorted(missing)}")
        self.item_cum = _cum(shares[i] for i in self.items)
        self.subs: dict[str, list[str]] = {}
        self.sub_cum: dict[str, list[float]] = {}
        self.can_hide: dict[tuple[str, str], bool] = {}
        hideable = 0.0
        for it in doc["items"]:
            names = [s["name"] for s in it["subcategories"]]
            w = [cal.SUBCATEGORY_DECAY ** k for k in range(len(names))]
            self.subs[it["name"]] = names
            self.sub_cum[it["name"]] = _cum(w)
            for s, wk in zip(it["subcategories"], w):
                # Hide the category only where the item alone gives the true rights claim and the
                # text is specific: so a downstream prediction of the item reproduces the figures.
                ok = "rights_claim" not in s and it["name"] != doc["fallback_item"]
                self.can_hide[(it["name"], s["name"])] = ok
                if ok:
                    hideable += shares[it["name"]] / 100 * wk / sum(w)
        self.hide_boost = 1 / hideable
        self.channels = list(cal.CHANNELS)
        self.channel_cum = _cum(cal.CHANNELS[c][0] for c in self.channels)
        self.raw = {c: ([r for r, _ in cal.CHANNELS[c][1]], _cum(w for _, w in cal.CHANNELS[c][1])) for c in self.channels}
        self.districts = list(cal.DISTRICT_POPULATION)
        self.district_cum = _cum(cal.DISTRICT_POPULATION.values())
        self.hour_cum = hour_cum()
        self.reply_types = [k for k, _ in cal.REPLY_TYPES]
        self.reply_cum = _cum(w for _, w in cal.REPLY_TYPES)
        self.eval_rates = cal.evaluation_rates()


def _received_times(rng: random.Random, day_start: int, count: int, cum: list[float]) -> list[int]:
    """`count` receipt times within one day, hour from the hour curve, uniform within the hour."""
    out = []
    for _ in range(count):
        hour = bisect.bisect_right(cum, rng.random() * cum[-1])
        out.append(day_start + hour * 3600 + int(rng.random() * 3600))
    out.sort()
    return out


class _Replica:
    """The generator's running state: one RNG, the quota samplers, the scorer, recent tickets."""

    def __init__(self, seed: int, year: int):
        self.setup = _Setup()
        self.rng = random.Random(seed)
        self.year = year
        # Callers: an affine bijection of the sequence number keeps every first-time caller unique
        # (so only deliberate repeats share a number) while looking random.
        mult = self.rng.randrange(1, 10**8 // 2) * 2 + 1
        while mult % 5 == 0:
            mult += 2
        self.mult, self.offset = mult, self.rng.randrange(10**8)
        self.withdraw = QuotaSampler(cal.WITHDRAWN_RATE)
        self.repeat = QuotaSampler(cal.REPEAT_RATE)
        # Evaluations are drawn only for tickets not withdrawn, hence the division.
        self.evaluate = {item: QuotaSampler(rate / (1 - cal.WITHDRAWN_RATE))
                         for item, rate in self.setup.eval_rates.items()}
        self.scorer = _Scorer()
        self.recent: deque[Ticket] = deque(maxlen=cal.REPEAT_LOOKBACK)

    def _caller(self, seq: int) -> str:
        suffix = (self.mult * seq + self.offset) % 10**8
        if self.rng.random() < cal.LANDLINE_SHARE:
            return f"0769-2{suffix % 10**7:07d}"
        return f"{self.rng.choice(MOBILE_PREFIXES)}{suffix:08d}"

    def ticket(self, seq: int, received: int) -> Ticket:
        rng, setup = self.rng, self.setup
        channel = _pick(rng, setup.channels, setup.channel_cum)
        raws, raw_cum = setup.raw[channel]
        channel_raw = _pick(rng, raws, raw_cum)

        recent = self.recent
        original = rng.choice(recent) if self.repeat.draw(rng, eligible=len(recent) > 100) else None
        if original is not None:  # the same caller about the same matter
            item, sub, district, caller = original.item, original.subcategory, original.district, original.caller
            repeat_date = _month_day(original.received)
        else:
            item = _pick(rng, setup.items, setup.item_cum)
            sub = _pick(rng, setup.subs[item], setup.sub_cum[item])
            district = _pick(rng, setup.districts, setup.district_cum)
            caller = self._caller(seq)
            repeat_date = None

        p_hide = cal.CHANNELS[channel][2] * setup.hide_boost if setup.can_hide[(item, sub)] else 0.0
        shown = "yes"
        if rng.random() < p_hide:
            shown = "null" if rng.random() < 0.5 else "absent"

        office = text.district_office(district)
        department = office if office and rng.random() < cal.DISTRICT_ROUTED_SHARE else text.CITY_DEPARTMENTS[item]
        title, content = text.complaint(rng, item, sub, district, caller=caller, repeat_date=repeat_date,
                                        personal=rng.random() < cal.PERSONAL_NUMBER_IN_TEXT)

        withdrawn_at = reply = reply_type = replied_at = satisfaction = evaluated_at = None
        if self.withdraw.draw(rng, eligible=original is None):
            # Repeats are never withdrawn, so "withdrawn + repeat" counts distinct tickets.
            withdrawn_at = received + _delay(rng, cal.WITHDRAWAL_DELAY_H)
        else:
            reply_type = _pick(rng, setup.reply_types, setup.reply_cum)
            replied_at = received + _delay(rng, cal.REPLY_DELAY_H)
            reply = text.reply_text(rng, item, sub, reply_type, department, _month_day(replied_at))
            sampler = self.evaluate.get(item)
            # Tickets without a shown category are not evaluated: downstream their item is predicted,
            # and an evaluation landing on a never-evaluated item would break "exactly 20 items".
            if sampler is not None and sampler.draw(rng, eligible=shown == "yes"):
                satisfaction = self.scorer.score(rng, item, channel)
                evaluated_at = replied_at + _delay(rng, cal.EVALUATION_DELAY_H)
        t = Ticket(seq, f"DG{self.year}{seq:07d}", received, channel_raw, channel, item, sub, shown, district,
                   department, caller, title, content, original.ticket_id if original else None, withdrawn_at,
                   reply, reply_type, replied_at, satisfaction, evaluated_at)
        recent.append(t)
        return t


def generate_tickets(n: int, seed: int, year: int = cal.STUDY_YEAR) -> Iterator[Ticket]:
    """All `n` tickets of the replica, in received order (ties broken by sequence number)."""
    replica = _Replica(seed, year)
    seq = 0
    for day, count in day_counts(n, year):
        for received in _received_times(replica.rng, local_seconds(day), count, replica.setup.hour_cum):
            seq += 1
            yield replica.ticket(seq, received)

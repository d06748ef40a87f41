"""Spike scoring: fires on a burst, stays quiet on steady or sparse repeats."""
from streams.core.spikes import SpikeRules, detect, ewma, repeat_signal

RULES = SpikeRules(min_count=5, threshold=4.0)


def hours(values, scope=("item", "交通管理")):
    return [{scope: v} for v in values]


def test_ewma_of_constant_series():
    mean, var = ewma([3] * 100, 0.05)
    assert mean == 3 and var == 0


def test_burst_over_a_quiet_baseline_fires():
    spikes = detect({("item", "交通管理"): 12}, hours([0, 1, 0, 0, 1] * 30), RULES, 0)
    assert [s.scope for s in spikes] == ["交通管理"] and spikes[0].score >= 4


def test_steady_high_scope_does_not_fire():
    assert detect({("district", "虎门镇"): 22}, hours([20, 18, 22, 19, 21] * 30, ("district", "虎门镇")), RULES, 0) == []


def test_below_min_count_never_fires_even_from_zero():
    assert detect({("item", "交通管理"): 4}, hours([0] * 168), RULES, 0) == []


def test_repeat_signal_takes_the_largest_rule_count_per_scope():
    # A ticket can match several rules: summing them would count it twice.
    fields = {"item|交通管理|repeat": 2, "item|交通管理|repeat_caller": 3, "district|南城街道|repeat_text": 1,
              "item|交通管理|tickets": 50, "all||repeat": 9}
    assert repeat_signal(fields) == {("item", "交通管理"): 3, ("district", "南城街道"): 1}

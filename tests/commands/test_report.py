"""`hotline report`: the study figures from a generated file, and every bad-record kind under its reason."""
from __future__ import annotations

import json

import pytest

from tests.support import generate, hotline, hotline_json


@pytest.fixture(scope="module")
def sample_report(tmp_path_factory):
    path = generate(tmp_path_factory.mktemp("report") / "s.jsonl", 30_000, seed=2024, mode="snapshot")
    return hotline_json(["report", str(path), "--json"])


def test_study_figures_on_a_smaller_sample(sample_report):
    r = sample_report
    scale = r["valid"] / 462_483
    assert r["valid"] == 30_000
    assert r["top11_items_share"] == pytest.approx(0.8951, abs=0.02)
    assert r["by_rights_claim"]["公共服务保障权"]["share"] == pytest.approx(0.38, abs=0.02)
    assert r["off_hours_share"] == pytest.approx(0.81, abs=0.02)
    assert r["withdrawn"] + r["repeat"] == pytest.approx(1996 * scale, rel=0.3)
    assert r["evaluation_rate"] == pytest.approx(0.1138, abs=0.01)
    assert r["satisfaction_mean"] == pytest.approx(2.85, abs=0.1)
    assert r["evaluated_items"] == 20
    means = {k: v["satisfaction_mean"] for k, v in r["by_item"].items() if v["evaluated"]}
    assert means["企业服务"] > 3.8  # > 4 at full size (tests/generate); a 30k sample is noisier
    assert sum(m >= 2.9 for m in means.values()) == pytest.approx(12, abs=2)
    sp = r["volume_satisfaction_spearman"]
    assert not (sp["rho"] < 0 and sp["p"] < 0.05)
    channel_means = [v["satisfaction_mean"] for v in r["by_channel"].values() if v["evaluated"] >= 30]
    assert max(channel_means) - min(channel_means) <= 0.3


@pytest.mark.parametrize("mode", ["snapshot", "lifecycle"])
def test_every_bad_record_kind_is_counted_under_its_reason(tmp_path, mode):
    path = generate(tmp_path / "dirty.jsonl", 3000, seed=8, mode=mode, dirty=0.05)
    manifest = json.loads((tmp_path / "dirty.manifest.json").read_text())
    rep = hotline_json(["report", str(path), "--json"])
    assert rep["rejected_by_reason"] == {k: v for k, v in manifest["dirty"].items() if v}
    assert rep["valid"] == 3000
    assert rep["records"] == manifest["records"]


def test_table_output_is_readable(tmp_path):
    path = generate(tmp_path / "t.jsonl", 500, seed=1, mode="snapshot")
    out = hotline(["report", str(path)]).stdout.decode()
    assert "off-hours share" in out and "交通管理" in out


def test_a_missing_file_is_a_clear_error(tmp_path):
    res = hotline(["report", str(tmp_path / "nope.jsonl")], check=False)
    assert res.returncode == 2 and b"No such file" in res.stderr

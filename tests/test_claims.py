"""examples/compare/claims.py: the claims table's statistics worked by hand on made-up per-seed tables."""
import pytest

from conftest import load_example

claims = load_example("compare/claims.py")
CLAIMS, claim_rows, markdown, mean_interval, verdict = (claims.CLAIMS, claims.claim_rows, claims.markdown,
                                                        claims.mean_interval, claims.verdict)


def test_mean_and_t_interval_of_three_seeds():
    # mean 2, sample sd 1, t(0.975, 2 df) = 4.3027: half-width 4.3027 / sqrt(3) = 2.4842
    mean, half = mean_interval([1.0, 2.0, 3.0])
    assert mean == 2.0
    assert half == pytest.approx(2.4842, abs=1e-4)


def test_verdict_reads_the_interval_against_the_papers_sign():
    assert verdict(-5.0, 2.0, -1) == "reproduced"
    assert verdict(5.0, 2.0, -1) == "not reproduced (opposite)"
    assert verdict(1.0, 2.0, +1) == "inconclusive"
    assert verdict(1.0, float("nan"), +1) == "one seed: no interval"
    assert verdict(0.0, 0.0, -1) == "not reproduced (no difference)"


def _table(wrong, rouge):
    """A compare.json table where every system has ``wrong[system]`` / ``rouge[system]`` on every language."""
    return {system: {"targets": {lang: {"wrong_language_rate": wrong[system], "sp_rougeL": rouge[system]}
                                 for lang in ("de_DE", "ru_RU", "zh_CN")}}
            for system in ("mbart_full", "mbart_enc", "laft", "multi_source")}


def test_claim_rows_take_per_seed_differences_over_the_claims_languages():
    tables = {1: _table({"mbart_full": 100, "mbart_enc": 90, "laft": 50, "multi_source": 40},
                        {"mbart_full": 10, "mbart_enc": 11, "laft": 14, "multi_source": 9}),
              2: _table({"mbart_full": 90, "mbart_enc": 90, "laft": 60, "multi_source": 30},
                        {"mbart_full": 12, "mbart_enc": 12, "laft": 13, "multi_source": 9}),
              3: _table({"mbart_full": 80, "mbart_enc": 90, "laft": 40, "multi_source": 20},
                        {"mbart_full": 11, "mbart_enc": 10, "laft": 15, "multi_source": 9})}
    rows = {row["id"]: row for row in claim_rows(tables)}
    assert set(rows) == {claim[0] for claim in CLAIMS}
    accidental = rows["002-accidental"]
    assert accidental["per_seed"] == [-60, -60, -60] and accidental["baseline_mean"] == 90
    assert accidental["relative"] == pytest.approx(-60 / 90)
    assert accidental["interval"] == [-60, -60] and accidental["verdict"] == "reproduced"
    laft = rows["001-laft-rouge"]  # +4, +1, +4: mean 3, sd sqrt(3), half 4.3027 * 1 = 4.3027
    assert laft["per_seed"] == [4, 1, 4] and laft["mean"] == 3
    assert laft["interval"] == pytest.approx([3 - 4.3027, 3 + 4.3027], abs=1e-4)
    assert laft["verdict"] == "inconclusive"
    assert rows["001-enc-rouge"]["per_seed"] == [1, 0, -1]
    assert "| 002 §6: two sources" in markdown(list(rows.values()))

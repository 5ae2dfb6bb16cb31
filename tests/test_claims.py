"""examples/compare/claims.py: the claims table's statistics worked by hand on made-up per-seed tables."""
import json

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


def _table(wrong, rouge, trained_rouge=None):
    """A compare.json table where every system has ``wrong[system]`` / ``rouge[system]`` on every zero-shot language
    and ``trained_rouge[system]`` (default 90) with no wrong-language output on en_XX."""
    trained_rouge = trained_rouge or {}
    return {system: {"targets": {"en_XX": {"wrong_language_rate": 0, "sp_rougeL": trained_rouge.get(system, 90)},
                                 **{lang: {"wrong_language_rate": wrong[system], "sp_rougeL": rouge[system]}
                                    for lang in ("de_DE", "ru_RU", "zh_CN")}}}
            for system in ("mbart_full", "mbart_enc", "laft", "multi_source", "csr")}


def test_claim_rows_take_per_seed_differences_over_the_claims_languages():
    tables = {1: _table({"mbart_full": 100, "mbart_enc": 90, "laft": 50, "multi_source": 40, "csr": 100},
                        {"mbart_full": 10, "mbart_enc": 11, "laft": 14, "multi_source": 9, "csr": 13},
                        {"mbart_full": 90, "csr": 92}),
              2: _table({"mbart_full": 90, "mbart_enc": 90, "laft": 60, "multi_source": 30, "csr": 90},
                        {"mbart_full": 12, "mbart_enc": 12, "laft": 13, "multi_source": 9, "csr": 12},
                        {"mbart_full": 91, "csr": 92}),
              3: _table({"mbart_full": 80, "mbart_enc": 90, "laft": 40, "multi_source": 20, "csr": 80},
                        {"mbart_full": 11, "mbart_enc": 10, "laft": 15, "multi_source": 9, "csr": 9},
                        {"mbart_full": 92, "csr": 95})}
    rows = {row["id"]: row for row in claim_rows({seed: {"compare": table} for seed, table in tables.items()})}
    assert set(rows) == {claim.id for claim in CLAIMS if claim.source == "compare"}
    accidental = rows["002-accidental"]
    assert accidental["per_seed"] == [-60, -60, -60] and accidental["baseline_mean"] == 90
    assert accidental["relative"] == pytest.approx(-60 / 90)
    assert accidental["interval"] == [-60, -60] and accidental["verdict"] == "reproduced"
    laft = rows["001-laft-rouge"]  # +4, +1, +4: mean 3, sd sqrt(3), half 4.3027 * 1 = 4.3027
    assert laft["per_seed"] == [4, 1, 4] and laft["mean"] == 3
    assert laft["interval"] == pytest.approx([3 - 4.3027, 3 + 4.3027], abs=1e-4)
    assert laft["verdict"] == "inconclusive"
    assert rows["001-enc-rouge"]["per_seed"] == [1, 0, -1]
    # CSR: the trained language (en_XX) alone, +2 +1 +3: mean 2, sd 1, half 4.3027 / sqrt(3) = 2.4842
    trained, zero_shot = rows["004-csr-trained"], rows["004-csr-zero-shot"]
    assert trained["languages"] == ["en_XX"] and trained["per_seed"] == [2, 1, 3]
    assert trained["baseline_mean"] == 91 and trained["interval"] == pytest.approx([2 - 2.4842, 2 + 2.4842], abs=1e-4)
    assert zero_shot["languages"] == ["de_DE", "ru_RU", "zh_CN"] and zero_shot["per_seed"] == [3, 0, -2]
    assert "| 002 §6: two sources" in markdown(list(rows.values()))


def _selection(src_dev, cos_sim, tgt_dev, rho):
    """xlgen-xlrs select / spearman output of one seed: each criterion's test score on ru_RU and zh_CN."""
    scores = {"src-dev": src_dev, "cos-sim": cos_sim, "tgt-dev": tgt_dev}
    rows = {criterion: {"targets": {lang: {"score": score} for lang, score in zip(("ru_RU", "zh_CN"), values)},
                        "delta": sum(v - t for v, t in zip(values, tgt_dev)) / 2}
            for criterion, values in scores.items()}
    return {"multisource": {"selection": {"rows": rows}, "spearman": {"mean": {"rho": rho}}}}


def test_selection_claims_read_the_single_source_runs_selection_and_rho():
    results = {1: _selection((10, 20), (14, 22), (15, 24), -0.5),   # cos-sim - src-dev: (4 + 2) / 2 = +3
               2: _selection((12, 18), (13, 21), (16, 21), -0.3),   # (1 + 3) / 2 = +2
               3: _selection((11, 20), (15, 21), (15, 23), None)}   # (4 + 1) / 2 = +2.5; rho undefined -> 0
    rows = {row["id"]: row for row in claim_rows(results)}
    assert set(rows) == {claim.id for claim in CLAIMS if claim.source == "multisource"}
    versus_source = rows["002-select-vs-source-dev"]
    assert versus_source["per_seed"] == pytest.approx([3, 2, 2.5])
    assert versus_source["baseline_mean"] == pytest.approx((15 + 15 + 15.5) / 3)  # src-dev's mean over targets
    assert versus_source["verdict"] == "reproduced"  # mean 2.5, sd 0.5: half 4.3027 * 0.5 / sqrt(3) = 1.242
    versus_target = rows["002-select-vs-target-dev"]  # (-1 - 2) / 2, (-3 + 0) / 2, (0 - 2) / 2
    assert versus_target["per_seed"] == pytest.approx([-1.5, -1.5, -1.0])
    assert versus_target["verdict"] == "a size: compare with the paper's"
    rho = rows["002-rho"]
    assert rho["per_seed"] == pytest.approx([-0.5, -0.3, 0.0]) and rho["relative"] is None
    assert rho["verdict"] == "inconclusive"  # mean -0.267, sd 0.252: the interval holds zero
    assert "| -0.50 / -0.30 / +0.00 | 0.00 | inconclusive |" in markdown(list(rows.values()))  # rho: two decimals


def _sga_summary(tmp_path, seed, bleu):
    """examples/sga's summary.tsv of one seed: ``bleu[system] = ((de, ru, zh) BLEU, zh BLEU vs other references)``."""
    path = tmp_path / f"summary-{seed}.tsv"
    lines = ["system\tpair\tbleu\tbleu_other_ref\tmean_passes"]
    for system, ((de, ru, zh), zh_other) in bleu.items():
        lines += [f"{system}\tde_DE-en_XX\t{de}\t1.0\t2.00", f"{system}\tru_RU-en_XX\t{ru}\t1.0\t2.00",
                  f"{system}\tzh_CN-en_XX\t{zh}\t{zh_other}\t-"]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return {"sga": claims.read_sga_summary(str(path))}


def test_sga_claims_average_the_supervised_pairs_and_read_zero_shot_against_chance(tmp_path):
    results = {1: _sga_summary(tmp_path, 1, {"sga": ((10, 14, 5), 1.0), "sga_ctc_only": ((9, 11, 4), 1.0),
                                             "ar": ((12, 12, 2), 1.0), "sga_distilled": ((13, 14, 5), 1.0)}),
               2: _sga_summary(tmp_path, 2, {"sga": ((11, 13, 6), 2.0), "sga_ctc_only": ((10, 12, 5), 1.5),
                                             "ar": ((11, 11, 1), 1.0), "sga_distilled": ((11, 16, 6), 1.0)}),
               3: _sga_summary(tmp_path, 3, {"sga": ((12, 12, 4), 1.5), "sga_ctc_only": ((11, 10, 3), 1.0),
                                             "ar": ((13, 9, 3), 1.0), "sga_distilled": ((12, 14, 6), 1.0)})}
    rows = {row["id"]: row for row in claim_rows(results)}
    assert set(rows) == {claim.id for claim in CLAIMS if claim.source == "sga"}
    # denoising: mean over de and ru of SGA minus w/o: (1 + 3) / 2, (1 + 1) / 2, (1 + 2) / 2
    assert rows["003-denoising"]["per_seed"] == [2, 1, 1.5] and rows["003-denoising"]["baseline_mean"] == 10.5
    assert rows["003-denoising"]["verdict"] == "reproduced"  # mean 1.5, sd 0.5: half 1.242
    assert rows["003-vs-ar"]["per_seed"] == [0, 1, 1]  # (-2 + 2) / 2, (0 + 2) / 2, (-1 + 3) / 2
    zero_shot = rows["003-zero-shot"]  # zh_CN only: 5 - 1, 6 - 2, 4 - 1.5
    assert zero_shot["languages"] == ["zh_CN-en_XX"] and zero_shot["per_seed"] == [4, 4, 2.5]
    assert zero_shot["baseline_mean"] == pytest.approx(1.5)
    # distillation: the distilled SGA minus SGA over de and ru: (3 + 0) / 2, (0 + 3) / 2, (0 + 2) / 2
    assert rows["003-distillation"]["per_seed"] == [1.5, 1.5, 1] and rows["003-distillation"]["baseline_mean"] == 12


def _tradeoff(tmp_path, seed, meteor):
    """free_generation.sh's tradeoff.tsv of one seed: ``meteor[(iterations, denoiser)]`` on en_XX (de_DE: 1.0)."""
    path = tmp_path / f"tradeoff-{seed}.tsv"
    lines = ["lang\titerations\tdenoiser\trouge_l\tmeteor_exact_stem\tdenoising_passes\tms_per_sentence"]
    for lang in ("en_XX", "de_DE"):
        lines += [f"{lang}\t{k}\t{denoiser}\t20.00\t{value if lang == 'en_XX' else 1.0:.2f}\t1.50\t3.0"
                  for (k, denoiser), value in meteor.items()]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return {"free_generation": claims.read_tradeoff(str(path))}


def test_mask_predict_tradeoff_claims_compare_decodes_of_one_model_on_en_xx(tmp_path):
    def seed(no, yes):  # METEOR at 2, 4, 8 iterations without and with the denoiser
        return {**{(k, "no"): v for k, v in zip((2, 4, 8), no)}, **{(k, "yes"): v for k, v in zip((2, 4, 8), yes)}}
    results = {1: _tradeoff(tmp_path, 1, seed((14.5, 15.5, 15.8), (15.3, 15.9, 16.1))),  # the paper's Table 4
               2: _tradeoff(tmp_path, 2, seed((14.0, 15.0, 15.0), (15.0, 15.5, 15.6))),
               3: _tradeoff(tmp_path, 3, seed((14.0, 14.0, 15.0), (14.0, 15.0, 15.0)))}
    rows = {row["id"]: row for row in claim_rows(results)}
    assert set(rows) == {claim.id for claim in CLAIMS if claim.source == "free_generation"}
    # same iterations, denoiser minus none, averaged over 2 / 4 / 8: (0.8 + 0.4 + 0.3) / 3, (1 + 0.5 + 0.6) / 3, 1 / 3
    assert rows["003-tradeoff-denoiser"]["per_seed"] == pytest.approx([0.5, 0.7, 1 / 3])
    assert rows["003-tradeoff-denoiser"]["baseline_mean"] == pytest.approx((15.2667 + 14.6667 + 14.3333) / 3, abs=1e-4)
    assert rows["003-tradeoff-iterations"]["per_seed"] == pytest.approx([1.3, 1.0, 1.0])
    assert rows["003-tradeoff-4-denoised-vs-8"]["per_seed"] == pytest.approx([0.1, 0.5, 0.0])
    assert rows["003-tradeoff-iterations"]["languages"] == ["en_XX"]


def test_no_run_reads_finished_runs_and_names_an_unfinished_one(tmp_path, capsys):
    work = tmp_path / "seed-1"
    (work / "sga").mkdir(parents=True)
    (work / "sga" / "summary.tsv").write_text("system\tpair\tbleu\tbleu_other_ref\tmean_passes\n"
                                               "sga\tzh_CN-en_XX\t3.5\t0.5\t2.00\n", encoding="utf-8")
    assert claims.run_seed(str(work), 1, "testbed-small", ["sga"], run=False) == {
        "sga": {"sga": {"zh_CN-en_XX": {"bleu": 3.5, "bleu_other_ref": 0.5}}}}
    assert claims.run_seed(str(work), 1, "testbed-small", ["sga", "compare"], run=False) is None
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and "the compare run of seed 1 has not finished" in error


def _csr_run(tmp_path, seed, bleu, distance):
    """examples/csr's run directory of one seed: ``bleu[system] = (de->en, ru->en, zh->en)``, ``distance[system]`` the
    Eq. 4 distance of de_DE-en_XX (systems: run.sh's baseline and stage2)."""
    work = tmp_path / f"seed-{seed}" / "csr_translation"
    for system, (de, ru, zh) in bleu.items():
        (work / system).mkdir(parents=True)
        for name, value in (("scores.json", de), ("scores.ru_RU-en_XX.json", ru), ("scores.zh_CN-en_XX.json", zh)):
            (work / system / name).write_text(json.dumps({"scores": {"bleu": value, "chrf": 50.0}}))
    models = [{"model": str(work / "pretrained" / "mbart.cc25"), "distance": {"de_DE-en_XX": 9.9}}]
    models += [{"model": str(work / system / "averaged.pt"), "distance": {"de_DE-en_XX": d}}
               for system, d in distance.items()]
    (work / "distance.json").write_text(json.dumps({"pairs": ["de_DE-en_XX"], "models": models}))
    return claims.run_seed(str(work.parent), seed, "testbed-small", ["csr_translation"], run=False)


def test_csr_translation_claims_read_bilingual_zero_shot_bleu_and_the_eq4_distance(tmp_path):
    results = {1: _csr_run(tmp_path, 1, {"baseline": (50, 2, 1), "stage2": (52, 4, 1)}, {"baseline": 2.0, "stage2": 1.5}),
               2: _csr_run(tmp_path, 2, {"baseline": (51, 3, 2), "stage2": (53, 3, 4)}, {"baseline": 2.2, "stage2": 1.8}),
               3: _csr_run(tmp_path, 3, {"baseline": (49, 1, 1), "stage2": (52, 2, 2)}, {"baseline": 2.4, "stage2": 2.1})}
    rows = {row["id"]: row for row in claim_rows(results)}
    assert set(rows) == {claim.id for claim in CLAIMS if claim.source == "csr_translation"}
    bilingual = rows["004-csr-bilingual"]  # stage2 - baseline on de->en: +2, +2, +3
    assert bilingual["per_seed"] == [2, 2, 3] and bilingual["baseline_mean"] == 50
    # mean 7/3, sd 0.5774: half 4.3027 * 0.5774 / sqrt(3) = 1.4342, the interval above zero
    assert bilingual["interval"] == pytest.approx([7 / 3 - 1.4342, 7 / 3 + 1.4342], abs=1e-4)
    assert bilingual["verdict"] == "reproduced"
    zero_shot = rows["004-csr-zero-shot-translation"]  # mean over ru, zh: (2 + 0) / 2, (0 + 2) / 2, (1 + 1) / 2
    assert zero_shot["languages"] == ["ru_RU-en_XX", "zh_CN-en_XX"] and zero_shot["per_seed"] == [1, 1, 1]
    assert zero_shot["baseline_mean"] == pytest.approx((1.5 + 2.5 + 1) / 3)
    distance = rows["004-csr-distance"]  # the pretrained model's row is not a system
    assert distance["per_seed"] == pytest.approx([-0.5, -0.4, -0.3]) and distance["baseline_mean"] == pytest.approx(2.2)
    # mean -0.4, sd 0.1: half 4.3027 * 0.1 / sqrt(3) = 0.2484, below zero as the paper's -0.35
    assert distance["interval"] == pytest.approx([-0.6484, -0.1516], abs=1e-4) and distance["verdict"] == "reproduced"
    assert "| -0.50 / -0.40 / -0.30 |" in markdown(list(rows.values()))  # Eq. 4: two decimals


def test_only_takes_several_runs_and_names_an_unknown_one(tmp_path, capsys):
    (tmp_path / "seed-1" / "sga").mkdir(parents=True)
    (tmp_path / "seed-1" / "sga" / "summary.tsv").write_text("system\tpair\tbleu\tbleu_other_ref\tmean_passes\n",
                                                             encoding="utf-8")
    with pytest.raises(SystemExit) as exit_info:
        claims.main([str(tmp_path), "--only", "sga,csr", "--no-run"])
    assert exit_info.value.code == 2
    assert capsys.readouterr().err.strip().splitlines()[-1].endswith(
        "--only sga,csr: choose from compare,multisource,sga,free_generation,csr_translation,laft")
    # two runs named: the first one's finished table is read, the second's absence named
    assert claims.main([str(tmp_path), "--seeds", "1", "--only", "sga,free_generation", "--no-run"]) == 1
    assert "the free_generation run of seed 1 has not finished" in capsys.readouterr().err


def _laft_run(tmp_path, seed, rouge, wrong):
    """examples/laft's summary.json of one seed: each system's zero-shot SP-ROUGE-L and wrong-language rate on de_DE,
    ru_RU, zh_CN (``rouge[system]`` a triple, ``wrong[system]`` one rate); en_XX and translate-train rows are no
    claim's."""
    work = tmp_path / f"seed-{seed}" / "laft" / "results"
    work.mkdir(parents=True)
    rows = [{"setting": "zero-shot", "system": system, "lang": lang, "rougeL": 0.0, "sp_rougeL": value,
             "wrong_language_rate": wrong.get(system, 0.0)}
            for system, values in rouge.items() for lang, value in zip(("de_DE", "ru_RU", "zh_CN"), values)]
    rows += [{"setting": "zero-shot", "system": system, "lang": "en_XX", "rougeL": 0.0, "sp_rougeL": score,
              "wrong_language_rate": 0.0} for system, score in (("tm_adv", 99.0), ("laft", 0.0))]  # trained, no claim's
    rows.append({"setting": "translate-train-zh_CN", "system": "laft", "lang": "zh_CN", "rougeL": 0.0,
                 "sp_rougeL": 99.0, "wrong_language_rate": 0.0})
    (work / "summary.json").write_text(json.dumps({"systems": rows, "adversary": {}}))
    return claims.run_seed(str(work.parent.parent), seed, "testbed-small", ["laft"], run=False)


def test_laft_claims_read_the_zero_shot_summary_and_rank_the_six_systems_against_the_paper(tmp_path):
    # paper's order: laft > enc > enc_top2 > full > adapter > tm_adv (zh ROUGE-L 46.37 ... 31.41)
    in_order = {"laft": (40, 50, 60), "enc": (45, 45, 45), "enc_top2": (44, 44, 44), "full": (30, 30, 36),
                "adapter": (20, 20, 20), "tm_adv": (10, 10, 10)}
    swapped = {**in_order, "enc": (52, 50, 51)}  # enc above laft (mean 51 vs 50): 14 pairs agree, 1 disagrees
    reversed_order = dict(zip(in_order, reversed(list(in_order.values()))))
    results = {1: _laft_run(tmp_path, 1, in_order, {"full": 90, "laft": 30}),
               2: _laft_run(tmp_path, 2, swapped, {"full": 80, "laft": 40}),
               3: _laft_run(tmp_path, 3, reversed_order, {"full": 70, "laft": 10})}
    rows = {row["id"]: row for row in claim_rows(results)}
    assert set(rows) == {claim.id for claim in CLAIMS if claim.source == "laft"}
    order = rows["001-baseline-order"]  # Kendall tau: 15/15, (14 - 1)/15, -15/15
    assert order["per_seed"] == pytest.approx([1.0, 13 / 15, -1.0]) and order["baseline_mean"] == 0
    assert order["relative"] is None and order["verdict"] == "a size: compare with the paper's"  # paper: 1
    rouge = rows["001-laft-rouge-summarization"]  # laft - full, means over de, ru, zh: 50 - 32, 50 - 32, 10 - 44
    assert rouge["per_seed"] == pytest.approx([18, 18, -34]) and rouge["baseline_mean"] == pytest.approx(36)
    # LAFT - enc: 50 - 45, 50 - 51, 10 - 20 (reversed: LAFT gets tm_adv's 10, enc adapter's 20, Adapter enc's 45);
    # LAFT - Adapter: 50 - 20, 50 - 20, 10 - 45
    assert rows["001-laft-vs-enc-summarization"]["per_seed"] == pytest.approx([5, -1, -10])
    assert rows["001-laft-vs-adapter"]["per_seed"] == pytest.approx([30, 30, -35])
    language = rows["001-laft-language-summarization"]
    assert language["per_seed"] == [-60, -40, -60] and language["baseline_mean"] == 80
    assert "| +1.00 / +0.87 / -1.00 |" in markdown(list(rows.values()))

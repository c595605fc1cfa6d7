"""REPORT.md verdicts from synthetic results: each claim can come out either way, judged the way
the paper states it, against the seed spread."""
import numpy as np
import pytest

from experiments import registry
from ncl_landscape.report import writer
from ncl_landscape.report.claims import (HIGH, LOW, atlas, contrast, falls, judgements, rises,
                                         rises_from, stays_low, table1, theory_table)
from ncl_landscape.report.verdicts import MissingArm, Rule, fmt_beside, judge, stat
from ncl_landscape.runs import provenance
from ncl_landscape.runs.directory import save_results
from ncl_landscape.runs.results import Results

SEEDS = 3

FIG4 = {"fig4": registry.claims()["fig4"]}


def _curves(arms: dict) -> dict:
  """arms: method -> {cell: (start, end) or [(start, end) per seed]} with cell = (sparsity,
  mask_prob, c); straight-line curves of 5 logged points per run."""
  fields = {k: [] for k in ("method", "seed", "sparsity", "mask_prob", "warm_start_c", "status",
                            "maxcos_min")}
  for method, cells in arms.items():
    for (sparsity, mask_prob, c), runs in cells.items():
      runs = runs if isinstance(runs, list) else [runs] * SEEDS
      for seed, (start, end) in enumerate(runs):
        for k, v in (("method", method), ("seed", seed), ("sparsity", sparsity),
                     ("mask_prob", mask_prob), ("warm_start_c", c), ("status", "ok"),
                     ("maxcos_min", np.linspace(start, end, 5))):
          fields[k].append(v)
  return {k: np.array(v) for k, v in fields.items()}


def _judge(judge_claim, arms):
  verdict, lines = judge_claim(Results([], _curves(arms), []))
  return str(verdict), lines


CELLS = [(0.1, 0.5, np.nan), (0.3, 0.5, np.nan)]


def test_contrast_is_absolute_where_the_paper_is():
  ncl = {c: (0.3, 0.4) for c in CELLS}
  verdict, _ = _judge(contrast, {"ncl": ncl, "cl": {c: (0.3, 0.9) for c in CELLS}})
  assert verdict.startswith("reproduced")
  # CL beats NCL everywhere, but ends at 0.63 at sparsity 0.3: not "high" there
  cl = {CELLS[0]: (0.3, 0.9), CELLS[1]: (0.3, 0.63)}
  verdict, _ = _judge(contrast, {"ncl": ncl, "cl": cl})
  assert verdict.startswith("partly") and "CL high (>= 0.8): 1 of 2 cells" in verdict
  assert "fails in sparsity 0.3: 0.630" in verdict
  verdict, _ = _judge(contrast, {"ncl": ncl, "cl": {c: (0.3, 0.45) for c in CELLS}})
  assert verdict.startswith("not reproduced")


def test_contrast_compares_every_ncl_mask_cell_with_the_single_as_run_cl_cell():
  ncl = {(0.1, m, np.nan): (0.3, 0.4) for m in (0.25, 0.5, 0.9)}
  verdict, lines = _judge(contrast, {"ncl": ncl, "cl": {(0.1, 0.5, np.nan): (0.3, 0.9)}})
  assert verdict.startswith("reproduced") and "3 of 3 cells" in verdict
  assert sum(l.startswith("| mask prob") for l in lines) == 3  # one row per cell, not pooled
  assert any("D ~ Bernoulli(0.5)" in l for l in lines)


def test_a_falling_curve_is_never_a_reproduced_or_partial_rise():
  falling = {"m": {c: (0.9, 0.87) for c in CELLS}}  # ends at the target, but fell to it
  verdict, _ = _judge(rises("m", 0.87), falling)
  assert verdict.startswith("not reproduced")
  verdict, _ = _judge(rises_from(0.62, 0.85), {"m": {c: (0.99, 0.85) for c in CELLS}})
  assert verdict.startswith("not reproduced")
  assert _judge(rises("m", 0.87), {"m": {c: (0.7, 0.87) for c in CELLS}})[0].startswith(
      "reproduced")
  # a rise that ends far from the paper's number: one part of two fails in every cell
  verdict = _judge(rises("m", 0.87), {"m": {c: (0.5, 0.7) for c in CELLS}})[0]
  assert verdict.startswith("not reproduced") and "rises (end - start >= 0.05): 2 of 2" in verdict


def test_falls_and_stays_low_are_absolute():
  assert _judge(falls("m"), {"m": {c: (0.7, 0.5) for c in CELLS}})[0].startswith("reproduced")
  assert _judge(falls("m"), {"m": {c: (0.7, 0.68) for c in CELLS}})[0].startswith("not")
  assert _judge(falls("m"), {"m": {c: (0.7, 0.8) for c in CELLS}})[0].startswith("not")
  low = stays_low("m")
  assert _judge(low, {"m": {c: (0.3, LOW - 0.01) for c in CELLS}})[0].startswith("reproduced")
  assert _judge(low, {"m": {c: (0.3, LOW) for c in CELLS}})[0].startswith("not reproduced")


def test_a_cell_is_decided_by_most_of_its_seeds_not_by_its_mean():
  # two seeds near 0.75 and one outlier at 0.95: the mean 0.817 passes >= 0.8, 1 seed of 3 does
  runs = [(0.3, 0.75), (0.3, 0.75), (0.3, 0.95)]
  verdict, _ = _judge(contrast, {"ncl": {CELLS[0]: (0.3, 0.4)}, "cl": {CELLS[0]: runs}})
  assert verdict.startswith("not reproduced") and "CL high (>= 0.8): fails (all: 0.817, 1 of 3 " \
      "seeds, borderline" in verdict
  runs = [(0.3, 0.85), (0.3, 0.85), (0.3, 0.5)]  # 2 of 3 seeds: holds, and says the split
  verdict, _ = _judge(contrast, {"ncl": {CELLS[0]: (0.3, 0.4)}, "cl": {CELLS[0]: runs}})
  assert "CL high (>= 0.8): holds (all: 0.733, 2 of 3 seeds" in verdict
  assert "one seed" in judge("x", {"cell": stat([0.9], [0])}, Rule(">=", HIGH)).text


def test_thresholds_decide_on_full_precision_and_print_the_side():
  part = judge("x", {"c": stat([0.79977, 0.79977], [0, 1])}, Rule(">=", 0.8))
  assert part.held == 0 and "0.7998" in part.text  # 3 digits would show 0.800
  assert fmt_beside(0.8214, 0.82) == "0.821" and fmt_beside(0.8196, 0.82) == "0.8196"
  near = judge("x", {"c": stat([0.78, 0.82, 0.83], [0, 1, 2])}, Rule(">=", 0.8))
  assert near.held == 1 and "borderline (standard error 0.015)" in near.text
  far = judge("x", {"c": stat([0.9, 0.91, 0.92], [0, 1, 2])}, Rule(">=", 0.8))
  assert "borderline" not in far.text


def test_the_aggregation_rule_counts_cells():
  cells = lambda held, n: {f"c{i}": stat([0.9 if i < held else 0.1] * 3, [0, 1, 2])
                           for i in range(n)}
  words = {k: judge("x", cells(k, 12), Rule(">=", 0.8)).word for k in (1, 3, 4, 6, 7, 12)}
  assert words == {1: "not reproduced", 3: "not reproduced", 4: "partly", 6: "partly",
                   7: "reproduced", 12: "reproduced"}


def test_figure7_judges_the_arms_that_start_near_the_paper():
  arms = {"as_run": {(0.1, 0.5, 1.0): (0.50, 0.80), (0.1, 0.5, 1.25): (0.65, 0.86)},
          "as_written": {(0.1, 0.5, 2.0): (0.99, 0.85)}}
  verdict, lines = _judge(rises_from(0.62, 0.85), arms)
  assert verdict.startswith("reproduced: rises (end - start >= 0.05): holds")
  assert "judged in the 1 of 3 cells whose mean start lies within 0.1 of 0.62" in verdict
  assert any(l.startswith("| as_written | ") and "0.990" in l and l.endswith("| no |")
             for l in lines)


def test_one_rising_cell_of_twelve_is_not_reproduced():
  cells = {(s, 0.5, c): (0.62, 0.55) for s in (0.1, 0.2, 0.3) for c in (1.0, 1.1, 1.2, 1.25)}
  cells[(0.1, 0.5, 1.0)] = (0.62, 0.85)
  verdict, _ = _judge(rises_from(0.62, 0.85), {"m": cells})
  assert verdict.startswith("not reproduced: rises (end - start >= 0.05): 1 of 12 cells")


def test_an_empty_selection_is_an_error_naming_the_arm():
  with pytest.raises(MissingArm, match="'cl'"):
    _judge(contrast, {"ncl": {CELLS[0]: (0.3, 0.4)}})


def test_diverged_runs_do_not_enter_the_means():
  curves = _curves({"ncl": {CELLS[0]: (0.3, 0.4)}, "cl": {CELLS[0]: (0.3, 0.9)}})
  curves["status"] = curves["status"].astype(object)
  curves["status"][-1] = "diverged"
  curves["maxcos_min"][-1] = 0.0
  verdict, lines = contrast(Results([], curves, []))
  assert str(verdict).startswith("reproduced") and "(1 diverged)" in lines[2]


def test_table1_counts_cells_within_the_reported_spread():
  rows = [{"method": "simplified_simclr", "sparsity": "0.2", "status": "ok", "mask_prob": "0.5",
           "seed": "0", "maxcos_max": "0.94", "maxcos_median": "0.93", "maxcos_min": "0.9"},
          {"method": "simplified_simsiam", "sparsity": "0.2", "status": "ok", "mask_prob": "0.5",
           "seed": "0", "maxcos_max": "0.5", "maxcos_median": "0.82", "maxcos_min": "0.45"}]
  verdict, lines = table1(Results(rows, {}, []))
  text = str(verdict)
  assert "simplified_simclr within the paper's spread" in text and "3 of 3 cells" in text
  assert "simplified_simsiam within the paper's spread" in text and "2 of 3 cells" in text
  assert "SimCLR above simplified_simsiam (paired minimum max-cosine gap >= 0.1)" in text
  assert verdict.word == "reproduced"
  assert len([l for l in lines if l.startswith("| simplified")]) == 2


def test_what_ran_names_the_options_and_the_reading():
  s = {"profile": "quick", "seeds": 3, "epochs": 400, "lr": 0.025, "sparsities": [0.1, 0.3],
       "mask_probs": [0.5], "cl_masks": "independent", "latent": "fixed_count",
       "options": {"cl_masks": "independent"}}
  assert provenance.run_caption(s) == ("profile quick, 3 seeds, 400 epochs, lr 0.025, sparsity "
                                       "0.1/0.3, mask prob 0.5; options --cl_masks=independent")
  assert "CL masks `independent` (as written)" in provenance.fidelity_line(s)
  assert "activation" not in provenance.fidelity_line(s)  # not given: nothing to say
  s.update(activation="srelu_paper", encoder="mlp", predictor_bias=False)
  assert ("activation `srelu_paper` (as written: Eq. 14), predictor bias `False` (without b^p), "
          "encoder `mlp` (two layers, max-cosine of the first)") in provenance.fidelity_line(s)
  s.update(sparsities=[0.1, 0.2, 0.3], same_runs=[[0.1, 0.2]])
  assert ("sparsity 0.1/0.2/0.3 (0.1/0.2: the same runs, as they draw the same latents), mask "
          "prob 0.5") in provenance.run_caption(s)


def _atlas_rows(method, c, value, status="ok", collapse="0", commutator=""):
  return [{"method": method, "sparsity": str(s), "mask_prob": "0.5", "status": status,
           "seed": "0", "maxcos_min": str(value), "warm_start_c": str(c),
           "effective_rank": "0.5", "collapse_complete": collapse, "collapse_dimensional": "0",
           "commutator": commutator} for s in (0.1, 0.3)]


def test_atlas_ranks_methods_and_marks_recovery_collapse_and_divergence():
  rows = (_atlas_rows("vicreg", 0, 0.85) + _atlas_rows("vicreg", 1, 0.9)
          + _atlas_rows("byol", 0, 0.4, collapse="1", commutator="0.2")
          + _atlas_rows("byol", 1, 0.7, commutator="0.1")
          + _atlas_rows("cl", 0, 0.5) + _atlas_rows("cl", 0, 0.0, status="diverged")
          + _atlas_rows("cl", 1, 0.6))
  curves = {"method": np.array(["vicreg", "byol", "cl", "cl"]), "warm_start_c": np.zeros(4),
            "status": np.array(["ok", "ok", "ok", "diverged"]), "epochs": np.array([0, 10, 20]),
            "maxcos_min": np.array([[0.2, 0.8, 0.9], [0.3, 0.3, 0.2], [0.2, 0.3, 0.6],
                                    [0.2, np.nan, np.nan]])}
  verdict, lines = atlas(Results(rows, curves, []))
  assert "random start 1 of 3 methods reach 0.8 by most of their runs (vicreg)" in verdict
  assert "warm c = 1 start 1 of 3" in verdict
  ranked = [line.split(" | ")[0].strip("| ") for line in lines[2:5]]
  assert ranked == ["vicreg", "cl", "byol"]
  assert [line.split(" | ")[3] for line in lines[2:5]] == ["<= 10", "20", "n/a"]  # half gain
  text = "\n".join(lines)
  assert "Collapse (complete or dimensional, any run): byol; runs not ok: cl." in text
  assert "+0.050 to +0.300" in text and "byol 0.150" in text
  assert "| non-contrastive | 0.400 | 0.700 |" in text


def test_figure7_names_a_cell_whose_seeds_split():
  arms = {"as_run": {(0.1, 0.5, 1.25): [(0.62, 0.726), (0.62, 0.875), (0.62, 0.946)]}}
  verdict, lines = _judge(rises_from(0.62, 0.85), arms)
  # the mean 0.849 is within 0.05 of 0.85, but only 1 of the 3 seeds ends there
  assert verdict.startswith("not reproduced") and "(all): 0.849, 1 of 3 seeds" in verdict
  assert lines[-1].endswith("| yes |")


def _fig4_results(ends: dict, missed=()) -> Results:
  """Figure 4 runs at two lrs; ends: lr -> final min max-cosine of every run; sparsities
  0.1 and 0.2 are the same runs; the runs in missed start without an atom."""
  rows, fields = [], {k: [] for k in ("method", "seed", "sparsity", "mask_prob", "warm_start_c",
                                      "lr", "atoms_missed", "status", "maxcos_min")}
  for lr, end in ends.items():
    for sparsity in (0.1, 0.2, 0.3):
      for seed in range(SEEDS):
        run = {"method": "ncl_warm", "seed": seed, "sparsity": sparsity, "mask_prob": 0.5,
               "warm_start_c": 1.0, "lr": lr, "status": "ok",
               "atoms_missed": int((lr, seed) in missed)}
        rows.append({**run, "maxcos_min": end})
        for k, v in {**run, "maxcos_min": np.linspace(0.7, end, 5)}.items():
          fields[k].append(v)
  return Results(rows, {k: np.array(v) for k, v in fields.items()}, [],
                 {"same_runs": [[0.1, 0.2]]})


def test_each_lr_is_judged_on_its_own_each_run_counted_once_and_missed_atoms_apart():
  judged = judgements(FIG4["fig4"], _fig4_results({0.005: 0.72, 0.025: 0.4}, {(0.025, 0)}))
  assert [j.label for j in judged] == ["lr 0.005", "lr 0.025", "lr 0.025, without the 2 runs "
                                       "whose start missed an atom"]
  assert judged[0].verdict.startswith("not reproduced") and "2 cells" in judged[0].verdict
  assert judged[1].verdict.startswith("reproduced: falls") and \
      "2 of 2 cells" in judged[1].verdict  # sparsity 0.2 is 0.1's runs: counted once


def _saved(directory, res: Results, profile: str) -> None:
  save_results(str(directory / "fig4"), "fig4",
               {"settings": {"profile": profile, "same_runs": [[0.1, 0.2]]}},
               [{"experiment": "fig4", "epochs": 10, "final_loss": 0.0, **r} for r in res.rows],
               {**res.curves, "epochs": np.arange(5)})


def test_report_sets_the_reference_beside_this_run(tmp_path):
  ref, ours = tmp_path / "reference", tmp_path / "results"
  _saved(ref, _fig4_results({0.005: 0.72, 0.025: 0.4}), "paper")
  _saved(ours, _fig4_results({0.005: 0.73, 0.025: 0.41}), "paper")
  text = open(writer.write_report(str(ours), FIG4, (str(ref),))).read()
  assert ("| experiment | the paper | reference (paper profile unless named) | this run (profile paper) |"
          in text)
  assert "| lr 0.005: not reproduced; lr 0.025: reproduced | lr 0.005: not reproduced; " \
         "lr 0.025: reproduced |" in text
  assert "- Against the reference: agrees with the reference within seed noise in all 4" in text
  _saved(ours, _fig4_results({0.005: 0.73, 0.025: 0.6}), "paper")
  text = open(writer.write_report(str(ours), FIG4, (str(ref),))).read()
  assert "differs from the reference beyond seed noise in 2 of 4 cells" in text
  own = open(writer.write_report(str(ref), FIG4, (str(ref),))).read()
  assert "| experiment | the paper | this run (profile paper) |" in own


def test_a_single_cl_mask_cell_is_judged_once_not_once_per_ncl_cell():
  ncl = {(0.3, m, np.nan): (0.3, 0.4) for m in (0.25, 0.5, 0.75, 0.9)}
  verdict, _ = _judge(contrast, {"ncl": ncl, "cl": {(0.3, 0.5, np.nan): (0.3, 0.7)}})
  assert "CL high (>= 0.8): fails (all: 0.700)" in verdict
  assert "NCL low (< 0.6): 4 of 4 cells" in verdict


def test_runs_that_collapse_dimensionally_are_counted_and_those_not_ok_apart():
  curves = _curves({"ncl": {CELLS[0]: (0.3, 0.4)}, "cl": {CELLS[0]: (0.3, 0.9)}})
  curves["status"] = curves["status"].astype(object)
  curves["status"][0] = "unbounded"
  curves["final_collapse_dimensional"] = np.array([1.0, 1.0, 0.0, 0.0, 0.0, 0.0])
  res = Results([], curves, [])
  assert writer.collapse_line(res) == ("1 of 5 ok runs ended in dimensional collapse (ncl 1), "
                                       "kept in the means")
  _, lines = contrast(res)
  assert "(1 unbounded)" in lines[2] and "0.400 +- 0.000 (1 unbounded)" in lines[2]


def test_a_summary_gives_each_parts_cells_and_where_seeds_split():
  cl = {CELLS[0]: [(0.3, 0.9)] * 3, CELLS[1]: [(0.3, 0.9), (0.3, 0.7), (0.3, 0.7)]}
  verdict, _ = contrast(Results([], _curves({"ncl": {c: (0.3, 0.4) for c in CELLS},
                                              "cl": cl}), []))
  assert verdict.short == ("partly: CL above NCL 2 of 2 cells, CL high 1 of 2 (sparsity 0.3: "
                           "1 of 3 seeds, borderline), NCL low 2 of 2")


def test_a_theorem_row_whose_runs_all_diverged_says_so_rather_than_nan():
  theory = [{"quantity": "a", "measured": "nan", "initial": "nan", "diverged_runs": "5"},
            {"quantity": "b", "measured": "0.03", "initial": "0.05", "diverged_runs": "0"}]
  lines = theory_table(Results([], {}, theory))
  assert lines[2] == "| a | every run diverged | every run diverged | 5 |"
  assert lines[3] == "| b | 0.03 | 0.05 | 0 |"

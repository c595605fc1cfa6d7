"""What it takes (experiments/sensitivity.py): each variant is its claim's binary, trained into a
normal result directory, judged by the report's own rule; the one sentence picks the smallest
change that reproduces a claim."""
import json
import os

import numpy as np
import pytest
from conftest import run_here

from experiments import sensitivity as binary
from experiments.sensitivity import SCANS
from ncl_landscape.report import claims, sensitivity
from ncl_landscape.report.claims import Judgement
from ncl_landscape.report.sensitivity import AS_RUN, Row, Variant
from ncl_landscape.report.verdicts import Rule, judge, stat, verdict
from ncl_landscape.runs import results

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SMOKE_SCAN = ("--profile=smoke", "--claims=fig5", "--variants=as_run,lr_0.025")


def settings(*args) -> dict:
  binary.main.parse(["sensitivity", *args])
  return binary.main.resolve()


@pytest.fixture(scope="module")
def smoke_scan(tmp_path_factory):
  """Figure 5's as-run setting and the text's learning rate, screened on the smoke profile."""
  out = tmp_path_factory.mktemp("scan")
  run_here("sensitivity", *SMOKE_SCAN, f"--out_dir={out}")
  return out


def test_each_variant_is_a_result_directory_recording_its_setting(smoke_scan):
  for name, lr in (("as_run", 0.005), ("lr_0.025", 0.025)):
    directory = smoke_scan / "sensitivity" / "fig5" / name / "fig5"
    config = json.loads((directory / "config.json").read_text())
    assert config["complete"] and not (directory / "chunks").exists()
    assert config["settings"]["lr"] == [lr] and config["settings"]["epochs"] == 2
    assert config["settings"]["options"]["lr"] == str(lr)
  assert (smoke_scan / "sensitivity" / "fig5.png").stat().st_size > 5_000
  text = (smoke_scan / "sensitivity" / "REPORT.md").read_text()
  assert "## Figure 5" in text and "| learning rate | 0.025 (the text's) |" in text


def test_the_rows_are_the_reports_judgements_of_the_same_directories(smoke_scan):
  scan = SCANS["fig5"]
  rows, _ = sensitivity.collect(str(smoke_scan), scan, None)
  assert [r.variant.name for r in rows] == ["as_run", "lr_0.025"]
  for row in rows:
    res, _ = results.load(sensitivity.result_dir(str(smoke_scan), scan, row.variant, "screen"))
    judged = claims.judgements(scan.claim, res)[0]
    assert row.judgement == judged and row.focus.text in judged.verdict
    assert row.word == judged.verdict.split(":")[0]


def test_a_rerun_reuses_the_finished_variants(smoke_scan):
  logged = run_here("sensitivity", *SMOKE_SCAN, f"--out_dir={smoke_scan}")
  assert logged.count("complete for this configuration") == 2


@pytest.mark.parametrize("flag,needle", [
    ("--claims=fig9", "--claims must be a comma-separated list of fig2, fig5, fig7, table1, thm3"),
    ("--stage=final", "--stage must be one of screen, confirm"),
    ("--variants=seeds_20", "--variants must name variants of the claims scanned")])
def test_a_bad_flag_exits_2_with_one_line(tmp_path, capsys, flag, needle):
  with pytest.raises(SystemExit) as exited:
    run_here("sensitivity", "--claims=fig5", flag, f"--out_dir={tmp_path}")
  lines = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
  assert exited.value.code == 2 and len(lines) == 1 and needle in lines[0], lines
  assert not list(tmp_path.iterdir())


def test_a_traced_axis_reaches_only_the_arms_whose_loss_reads_it():
  s = settings("--profile=smoke")
  plain = binary.resolve(SCANS["fig2"], AS_RUN, "screen", s)
  swept = binary.resolve(SCANS["fig2"], sensitivity.TEMPERATURE, "screen", s)
  assert swept.settings["arm_changes"] == {"axis": {"temperature": [0.1, 0.5]}}
  assert swept.settings["sparsities"] == (0.3,) and swept.settings["epochs"] == 2
  plain_arms, swept_arms = ({a.name: a.grid.points for a in p.arms} for p in (plain, swept))
  assert swept_arms["ncl"] == plain_arms["ncl"]
  assert len(swept_arms["cl"]) == 2 * len(plain_arms["cl"])
  assert {p["temperature"] for p in swept_arms["cl"]} == {0.1, 0.5}


def test_figure_7s_sizes_reach_every_arm_and_epochs_double():
  s = settings("--profile=smoke")
  sizes = binary.resolve(SCANS["fig7"], sensitivity.sizes(10), "screen", s)
  assert {(a.cfg.data.p, a.cfg.data.d, a.cfg.model.m) for a in sizes.arms} == {(10, 10, 10)}
  assert {a.name.startswith("ncl_warm_pred_") for a in sizes.arms} == {True}  # as run only
  longer = binary.resolve(SCANS["fig7"], sensitivity.LONGER, "paper", s)
  assert longer.settings["epochs"] == 2 * binary._binary("fig7").profiles["smoke"]["epochs"]


def test_the_as_run_row_at_paper_scale_is_the_references_own_cell():
  s = settings("--profile=paper")
  base = binary.reference_base(SCANS["fig2"], s)
  assert {(float(r["sparsity"]), float(r["mask_prob"])) for r in base.rows} == {(0.3, 0.5)}
  row = sensitivity.judge(SCANS["fig2"], 0, AS_RUN, base, "paper")[0]
  whole, _ = results.load(os.path.join(sensitivity.REFERENCE, "fig2"))
  assert row.mean == claims.cell_stats(whole.curves, "cl")[(0.3, 0.5, None)].mean


def test_the_estimate_of_a_reference_grid_is_its_own_wall_time():
  reference = os.path.join(sensitivity.REFERENCE, "fig5")
  plan = binary.resolve(SCANS["fig5"], AS_RUN._replace(flags={"lr": None}), "paper",
                        settings("--profile=paper"))
  runs, seconds = binary.cost(plan)
  config = json.loads(open(os.path.join(reference, "config.json")).read())
  assert runs == 12
  assert np.isclose(seconds, sum(w["train"] + w["compile"] for w in config["wall_s"].values()))


def test_the_dry_run_lists_every_variant_and_trains_nothing(tmp_path, capsys):
  binary.body(settings("--profile=smoke", "--claims=fig5", "--dry_run",
                       f"--out_dir={tmp_path}"))
  out = capsys.readouterr().out
  for variant in SCANS["fig5"].variants:
    assert f"  {variant.name} " in out
  assert "total: 7 variants" in out and not list(tmp_path.iterdir())


REACHES = Rule("within", 0.87, 0.05)


def _row(variant: Variant, order: int, values, scale: str = "screen", at=None,
         cells: dict | None = None) -> Row:
  """A row of constructed seeds' final values (one cell 'all', or cells: label -> values),
  judged by the 'reaches 0.87' rule."""
  cells = cells or {"all": values}
  part = judge("reaches 0.87", {k: stat(v, range(len(v))) for k, v in cells.items()}, REACHES)
  v = verdict(part)
  return Row(variant, order, at, scale, "", Judgement("", str(v), [], v.short), part)


def _variant(name: str, kind: str) -> Variant:
  return Variant(name, name, "x", kind)


def test_the_conclusion_picks_the_smallest_change_that_reproduces_it():
  fails, holds = (0.7, 0.72, 0.75), (0.86, 0.87, 0.88)
  text, seeds = _variant("latents", "text"), _variant("seeds", "seeds")
  rows = [_row(AS_RUN, 0, fails), _row(text, 2, holds), _row(_variant("lr", "open"), 1, fails)]
  assert sensitivity.conclusion(rows) == (
      "The smallest change that reproduces it in the cells scanned: latents x (0.870, 3 of 3 runs "
      "in 1 cell, in the screen only, not yet confirmed at paper scale).")
  assert sensitivity.conclusion(rows + [_row(seeds, 3, holds)]).startswith(
      "The smallest change that reproduces it in the cells scanned: seeds x")
  # confirmed failing at paper scale: no longer a candidate
  assert sensitivity.conclusion(rows + [_row(text, 2, fails, "paper")]) == (
      "None of the scanned settings does (1 of them judged in the screen only, at a quarter of "
      "the paper's epochs).")
  assert sensitivity.conclusion([_row(AS_RUN, 0, fails), _row(text, 2, fails, "paper")]) == \
      "None of the scanned settings does."
  # equal kinds and seeds: decided on the unrounded value, deeper inside the band
  near, nearer = _variant("a", "open"), _variant("b", "open")
  tie = [_row(near, 1, (0.9195, 0.9196, 0.9197)), _row(nearer, 2, (0.9194, 0.9195, 0.9196))]
  assert sensitivity.conclusion(tie).startswith(
      "The smallest change that reproduces it in the cells scanned: b x")


def test_the_confirm_stage_takes_the_values_that_move_toward_the_claim():
  scan = SCANS["fig2"]
  temperature, bernoulli = sensitivity.TEMPERATURE, sensitivity.BERNOULLI
  rows = [_row(AS_RUN, 0, (0.7, 0.71, 0.72)),
          _row(temperature, 5, (0.87, 0.87, 0.87), at=0.1),  # a changed verdict
          _row(temperature, 5, (0.7, 0.71, 0.72), at=0.5),  # the as-run values
          _row(bernoulli, 6, (0.69, 0.70, 0.71))]  # a step back
  assert sensitivity.to_confirm(scan, rows) == [temperature._replace(values=(0.1,))]
  # not reproduced either way, but closer beyond the seeds' standard error: confirmed
  closer = _row(bernoulli, 6, (0.76, 0.77, 0.78))
  assert sensitivity.moves_toward(closer, rows[0])
  assert bernoulli in sensitivity.to_confirm(scan, rows[:1] + [closer])
  # closer by less than the standard error of the difference: not confirmed
  assert not sensitivity.moves_toward(_row(bernoulli, 6, (0.64, 0.73, 0.80)), rows[0])
  # the same mean, but one seed now passes: confirmed
  assert sensitivity.moves_toward(_row(bernoulli, 6, (0.5, 0.76, 0.88)), rows[0])


def test_a_moved_value_awaits_its_confirm_until_it_has_a_paper_scale_row():
  temperature, bernoulli = sensitivity.TEMPERATURE, sensitivity.BERNOULLI
  rows = [_row(AS_RUN, 0, (0.7, 0.71, 0.72)),
          _row(temperature, 5, (0.87, 0.87, 0.87), at=0.1),  # moved
          _row(temperature, 5, (0.7, 0.71, 0.72), at=0.5),  # did not
          _row(bernoulli, 6, (0.86, 0.87, 0.88))]  # moved
  assert [(r.variant, r.value) for r in sensitivity.awaiting_confirm(rows)] == [
      (temperature, "0.1"), (bernoulli, bernoulli.value)]
  confirmed = _row(bernoulli, 6, (0.7, 0.7, 0.7), scale="paper")
  assert [r.value for r in sensitivity.awaiting_confirm(rows + [confirmed])] == ["0.1"]


def test_a_move_toward_the_claim_is_measured_on_the_cells_both_rows_judged():
  """A variant that judges fewer cells (Figure 7 judges those that start near the paper's) does
  not move by dropping the as-run's worst cell."""
  worse = (0.60, 0.61, 0.62)
  same = (0.70, 0.71, 0.72)
  base = _row(AS_RUN, 0, None, cells={"a": same, "b": worse})
  fewer = _row(sensitivity.BERNOULLI, 6, None, cells={"a": same})
  assert fewer.mean > base.mean + 0.04 and fewer.word == base.word
  assert not sensitivity.moves_toward(fewer, base)
  assert not sensitivity.moves_toward(_row(sensitivity.BERNOULLI, 6, None, cells={"c": same}),
                                      base)  # no cell in common, the same verdict
  closer = _row(sensitivity.BERNOULLI, 6, None, cells={"a": (0.76, 0.77, 0.78)})
  assert sensitivity.moves_toward(closer, base)
  assert "1 of 2 rows judge other cells" in sensitivity.cells_note([base, fewer])
  assert sensitivity.cells_note([base, closer._replace(focus=base.focus)]) == ""


def test_a_rows_runs_count_those_excluded_and_those_still_moving():
  rows = [{"status": s} for s in ("ok", "ok", "ok", "diverged", "unbounded", "diverged")]
  curves = {"status": np.array([r["status"] for r in rows]),
            "convergence": np.array(["settled", "still_moving", "still_moving", "", "", ""])}
  assert sensitivity.run_health(results.Results(rows, curves, [])) == (
      "6: 2 diverged, 1 unbounded; 2 still moving")
  assert sensitivity.run_health(results.Results(rows[:3], {"status": curves["status"][:3]}, [])) \
      == "3: none excluded"


def test_a_diverging_arm_is_reported_as_a_result():
  dist = np.stack([0.05 * 10.0 ** np.arange(9), 0.06 * 10.0 ** np.arange(9)])
  curves = {"method": np.array(["srelu_no_norm"] * 2), "dist": dist[:, None].repeat(2, 1)}
  line = claims.divergence_line(curves, "srelu_no_norm")
  assert line == ("srelu_no_norm diverges in 2 of 2 runs: from 0.055, ||W^o - I||_F, growing "
                  "about 10x per round, leaves 10^6 at round 8 (median)")


def test_the_confirm_stage_lists_the_moved_variants_at_paper_scale(smoke_scan, capsys):
  s = settings("--profile=smoke", "--claims=fig5", "--stage=confirm", f"--out_dir={smoke_scan}")
  flipped = sensitivity.to_confirm(SCANS["fig5"], binary.collect(SCANS["fig5"], s)[0])
  planned = binary.plans(s)
  assert [p.variant for p in planned] == flipped
  assert all(p.scale == "paper" and p.settings["epochs"] == 4 for p in planned)
  binary.body({**s, "dry_run": True})
  assert f"total: {len(flipped)} variants" in capsys.readouterr().out


def test_the_shipped_scan_report_is_what_its_results_give():
  s = settings("--profile=paper", f"--out_dir={os.path.join(ROOT, 'reference')}")
  text = sensitivity.report_text([(scan, *binary.collect(scan, s)) for scan in SCANS.values()],
                                 s["screen_epochs"])
  path = os.path.join(ROOT, "reference", "sensitivity", "REPORT.md")
  assert open(path).read() == text, f"{path} is stale: run make reports"

"""Two training lengths of one survey side by side: synthetic runs whose conclusions hold or
change by construction, and the REPORT section that sets a reference of another profile
beside this run."""
import numpy as np
from test_rescue import _curves as rescue_curves

from experiments import registry
from ncl_landscape.report import compare
from ncl_landscape.report.writer import write_report
from ncl_landscape.runs.directory import save_results
from ncl_landscape.runs.results import Results, subset


def _atlas_run(ends: dict, epochs: int, moving=()) -> Results:
  """ends: (method, c) -> final minimum max-cosine of both seeds at both sparsities; the
  curves rise in a straight line from 0.2."""
  rows = [{"method": m, "warm_start_c": str(c), "sparsity": str(s), "seed": str(seed),
           "status": "ok", "maxcos_min": str(end),
           "convergence": "still_moving" if (m, c) in moving else "converged"}
          for (m, c), end in ends.items() for s in (0.1, 0.3) for seed in (0, 1)]
  curves = {"method": np.array([r["method"] for r in rows]), "status": np.array(["ok"] * len(rows)),
            **{f: np.array([float(r[f]) for r in rows]) for f in ("warm_start_c", "sparsity",
                                                                   "seed")},
            "epochs": np.linspace(0, epochs, 5).astype(int), "loss": np.zeros((len(rows), 5)),
            "maxcos_min": np.array([np.linspace(0.2, float(r["maxcos_min"]), 5) for r in rows])}
  profile = "quick" if epochs < 1000 else "long"
  return Results(rows, curves, [], {"profile": profile, "epochs": epochs})


def test_atlas_names_the_conclusions_that_changed_with_training_length():
  quick = _atlas_run({("vicreg", 0.0): 0.85, ("byol", 0.0): 0.5, ("byol", 1.0): 0.7,
                      ("ncl", 0.0): 0.4}, 150, moving={("byol", 1.0)})
  long_ = _atlas_run({("vicreg", 0.0): 0.86, ("byol", 0.0): 0.45, ("byol", 1.0): 0.9,
                      ("ncl", 0.0): 0.4}, 2000)
  for a, b in ((quick, long_), (long_, quick)):  # the shorter run is read first either way
    text = "\n".join(compare.atlas(a, b, 0.8))
    assert "Held with training length: 3 of 4 (method, start) conclusions" in text
    # every run climbs from 0.2 in a straight line: the flag calls each still moving; only
    # byol's warm start then moves by 0.05 or more, the other 12 runs are false alarms
    assert ("4 of 16 runs then moved by 0.05 or more, 16 were flagged still moving; 0 misses"
            in text and "12 false alarms" in text)
    assert "- Changed: byol from the warm c = 1 start (0.700 -> 0.900, now reaches it)." in text
    assert ("| byol | warm c = 1 | 0.700 +- 0.000 | 0.900 +- 0.000 | +0.200 | no / yes | "
            "4 of 4 / 0 of 4 |") in text
    assert text.startswith("quick (150 epochs) against long (2000 epochs)")


def _rescue_curves(finals: dict) -> dict:
  """finals: c -> final minimum max-cosine of both seeds of ncl_pred at m = 10, sparsity 0.1;
  the initial value is 0.3 at c = 0 and 0.6 + 0.15 c otherwise."""
  start = lambda c: 0.3 if c == 0 else 0.6 + 0.15 * c
  return rescue_curves([("ncl_pred", 10, 0.1, c, [(start(c), end, "ok")] * 2)
                        for c, end in finals.items()])


def test_rescue_names_a_border_that_moved_and_a_random_start_that_now_recovers():
  quick = Results([], _rescue_curves({0.0: 0.3, 1.0: 0.6, 2.0: 0.95}), [],
                  {"profile": "quick", "epochs": 150})
  long_ = Results([], _rescue_curves({0.0: 0.85, 1.0: 0.9, 2.0: 0.95}), [],
                  {"profile": "long", "epochs": 2000})
  text = "\n".join(compare.rescue_borders(long_, quick, 0.8))
  assert "Held with training length: 0 of 1 borders" in text
  assert ("Reaches farther with more training: ncl_pred at m = 10, sparsity 0.1 "
          "(0.90 [0.90, 0.90] -> 0.30 [0.30, 0.30])") in text
  assert ("Random start recovers (most seeds): ncl_pred m = 10 sparsity 0.1 after "
          "long (2000 epochs); nowhere after quick (150 epochs).") in text
  same = "\n".join(compare.rescue_borders(quick, quick, 0.8))
  assert "Held with training length: 1 of 1 borders" in same
  assert "Reaches farther with more training: none." in same


def test_report_sets_a_reference_of_another_profile_beside_this_run(tmp_path):
  def save(directory, run: Results):
    rows = [{"experiment": "atlas", "epochs": run.settings["epochs"], "final_loss": 0.0,
             "mask_prob": 0.5, "effective_rank": 0.5, "collapse_complete": 0,
             "collapse_dimensional": 0, **r} for r in run.rows]
    save_results(str(directory / "atlas"), "atlas", {"settings": run.settings}, rows,
                 run.curves)
  save(tmp_path / "quick", _atlas_run({("vicreg", 0.0): 0.85, ("vicreg", 1.0): 0.9,
                                       ("byol", 0.0): 0.4, ("byol", 1.0): 0.7}, 150))
  save(tmp_path / "long", _atlas_run({("vicreg", 0.0): 0.86, ("vicreg", 1.0): 0.9,
                                      ("byol", 0.0): 0.4, ("byol", 1.0): 0.9}, 2000))
  text = open(write_report(str(tmp_path / "quick"), {"atlas": registry.claims()["atlas"]},
                           reference_dirs=(str(tmp_path / "paper"), str(tmp_path / "long")))).read()
  assert "(long profile) |" in text.split("\n## ")[0]  # the summary table names its profile
  assert "- Reference (long profile):" in text
  assert "With training length, this run beside the reference:" in text
  assert "- Changed: byol from the warm c = 1 start (0.700 -> 0.900, now reaches it)." in text
  assert "Against the reference" not in text  # no seed-noise check across profiles


def test_a_longer_survey_of_more_seeds_is_read_on_the_seeds_both_hold():
  """Seed 1 of the long run, which the quick run lacks, would move every mean it enters."""
  quick = _atlas_run({("vicreg", 0.0): 0.5}, 150)
  quick = subset(quick, quick.curves["seed"] == 0)
  long_ = _atlas_run({("vicreg", 0.0): 0.7}, 2000)
  long_.curves["maxcos_min"][long_.curves["seed"] == 1] = 0.1
  for row in long_.rows:
    row["maxcos_min"] = "0.1" if row["seed"] == "1" else row["maxcos_min"]
  text = "\n".join(compare.atlas(quick, long_, 0.8))
  assert "| vicreg | random | 0.500 +- 0.000 | 0.700 +- 0.000 | +0.200 |" in text

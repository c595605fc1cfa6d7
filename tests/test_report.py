"""REPORT.md verdicts from synthetic results: each claim can come out either way."""
import numpy as np

from ncl_landscape.report import Results, atlas, cl_above_ncl, table1, trend


def _rows(method, values, sparsities=(0.1, 0.3), status="ok"):
  return [{"method": method, "sparsity": str(s), "mask_prob": "0.5", "status": status,
           "maxcos_min": str(v), "maxcos_median": str(v), "maxcos_max": str(v)}
          for s in sparsities for v in values]


def test_cl_above_ncl_needs_a_clear_gap_everywhere():
  verdict, _ = cl_above_ncl(_rows("ncl", [0.4, 0.45]) + _rows("cl", [0.9, 0.8]), "sparsity")
  assert verdict.startswith("reproduced")
  verdict, _ = cl_above_ncl(_rows("ncl", [0.4]) + _rows("cl", [0.45]), "sparsity")
  assert verdict.startswith("partly")
  verdict, _ = cl_above_ncl(_rows("ncl", [0.5]) + _rows("cl", [0.45]), "sparsity")
  assert verdict.startswith("not")


def test_diverged_runs_do_not_enter_the_means():
  rows = _rows("ncl", [0.4]) + _rows("cl", [0.9]) + _rows("cl", [0.0], status="diverged")
  verdict, lines = cl_above_ncl(rows, "sparsity")
  assert verdict.startswith("reproduced") and "(1 diverged)" in lines[2]


def _curves(method, start, end):
  runs = 2
  return {"method": np.array([method] * 2 * runs), "sparsity": np.repeat([0.1, 0.3], runs),
          "mask_prob": np.full(2 * runs, 0.5), "status": np.array(["ok"] * 2 * runs),
          "maxcos_min": np.stack([np.linspace(start, end, 5)] * 2 * runs)}


def test_trend_verdicts():
  rise = trend("m", "rises", 0.87)
  assert rise(Results(_rows("m", [0.87]), _curves("m", 0.7, 0.87), []))[0].startswith("reproduced")
  assert rise(Results(_rows("m", [0.75]), _curves("m", 0.7, 0.75), []))[0].startswith("partly")
  assert rise(Results(_rows("m", [0.6]), _curves("m", 0.7, 0.6), []))[0].startswith("not")
  fall = trend("m", "falls")
  assert fall(Results(_rows("m", [0.6]), _curves("m", 0.7, 0.6), []))[0].startswith("reproduced")
  low = trend("m", "low")
  assert low(Results(_rows("m", [0.7]), _curves("m", 0.3, 0.7), []))[0].startswith("not")


def test_table1_counts_cells_within_the_reported_spread():
  rows = [{"method": "simplified_simclr", "sparsity": "0.2", "status": "ok", "mask_prob": "0.5",
           "maxcos_max": "0.94", "maxcos_median": "0.93", "maxcos_min": "0.9"},
          {"method": "simplified_simsiam", "sparsity": "0.2", "status": "ok", "mask_prob": "0.5",
           "maxcos_max": "0.5", "maxcos_median": "0.82", "maxcos_min": "0.45"}]
  verdict, lines = table1(Results(rows, {}, []))
  assert "5 of 6 cells" in verdict and verdict.startswith("reproduced")
  assert len([l for l in lines if l.startswith("| simplified")]) == 2


def _atlas_rows(method, c, value, status="ok", collapse="0", commutator=""):
  return [dict(row, warm_start_c=str(c), effective_rank="0.5", collapse_complete=collapse,
               collapse_dimensional="0", commutator=commutator)
          for row in _rows(method, [value], status=status)]


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
  assert "random start 1 of 3 methods reach 0.8 (vicreg)" in verdict
  assert "warm c = 1 start 1 of 3" in verdict
  ranked = [line.split(" | ")[0].strip("| ") for line in lines[2:5]]
  assert ranked == ["vicreg", "cl", "byol"]
  assert [line.split(" | ")[3] for line in lines[2:5]] == ["10", "20", "nan"]  # half the gain
  text = "\n".join(lines)
  assert "Collapse (complete or dimensional, any run): byol; diverged runs: cl." in text
  assert "+0.050 to +0.300" in text and "byol 0.150" in text
  assert "| non-contrastive | 0.400 | 0.700 |" in text

"""REPORT.md verdicts from synthetic results: each claim can come out either way."""
import numpy as np

from ncl_landscape.report import Results, cl_above_ncl, table1, trend


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

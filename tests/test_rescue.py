"""The rescue map: borders on synthetic results with a known answer; the warm start's closed form."""
import jax
import numpy as np
import pytest

from ncl_landscape.report import rescue
from ncl_landscape.testbed import metrics
from ncl_landscape.testbed.data import make_dictionary
from ncl_landscape.testbed.networks import warm_start_weight


def _curves(cells):
  """cells: (mechanism, width, sparsity, c, [(initial, final, status), ...]) -> curves."""
  method, sparsity, c, curve, status, seed = [], [], [], [], [], []
  for mechanism, width, s, level, runs in cells:
    for i, (initial, final, st) in enumerate(runs):
      method.append(rescue.arm_name(mechanism, width))
      sparsity.append(s)
      c.append(level)
      curve.append([initial, (initial + final) / 2, final])
      status.append(st)
      seed.append(i)
  return {"method": np.array(method), "sparsity": np.array(sparsity, float),
          "warm_start_c": np.array(c, float), "maxcos_min": np.array(curve),
          "status": np.array(status), "seed": np.array(seed, float),
          "loss": np.zeros((len(method), 3)), "epochs": np.array([0, 50, 100])}


OK = "ok"
CELLS = [  # ncl_pred at m = 10: rescued from c = 1 (2 of 3 seeds) and closer, not from random
    ("ncl_pred", 10, 0.1, 0.0, [(0.2, 0.3, OK), (0.25, 0.9, OK), (0.22, 0.4, OK)]),
    ("ncl_pred", 10, 0.1, 1.0, [(0.6, 0.85, OK), (0.65, 0.82, OK), (0.62, 0.5, OK)]),
    ("ncl_pred", 10, 0.1, 2.0, [(0.97, 0.99, OK), (0.98, 0.99, OK), (0.96, 0.7, OK)]),
    # ncl at m = 10: c = 1 rescued but the closer c = 2 not, so no border
    ("ncl", 10, 0.1, 0.0, [(0.2, 0.3, OK), (0.25, 0.2, OK)]),
    ("ncl", 10, 0.1, 1.0, [(0.6, 0.85, OK), (0.65, 0.82, OK)]),
    ("ncl", 10, 0.1, 2.0, [(0.97, 0.6, OK), (0.98, 0.5, OK)]),
    # cl at m = 50: every start, the random one too; a diverged seed is left out
    ("cl", 50, 0.1, 0.0, [(0.1, 0.9, OK), (0.12, 0.85, OK), (0.11, 0.1, "diverged")]),
    ("cl", 50, 0.1, 1.0, [(0.6, 0.9, OK), (0.62, 0.95, OK)]),
]


def test_borders_on_results_with_a_known_answer():
  found = rescue.borders(_curves(CELLS))
  pred = found[("ncl_pred", 10, 0.1)]
  assert pred.c == 1.0 and np.isclose(pred.initial, (0.6 + 0.65 + 0.62) / 3)
  assert (pred.low, pred.high) == (0.6, 0.65)
  assert found[("ncl", 10, 0.1)] == rescue.NO_BORDER
  cl = found[("cl", 50, 0.1)]
  assert cl.c == 0.0 and np.isclose(cl.initial, 0.11)  # the diverged seed is not in it
  levels = rescue.levels(_curves(CELLS), "cl", 50, 0.1)
  assert [lv.c for lv in levels] == [0.0, 1.0] and levels[0].diverged == 1
  # a stricter threshold moves the border closer: only c = 2 has two of three at >= 0.95
  assert rescue.borders(_curves(CELLS), recovered_at=0.95)[("ncl_pred", 10, 0.1)].c == 2.0


def test_summary_ranks_the_borders_and_names_the_random_start_rescue():
  verdict, lines = rescue.summary(_curves(CELLS), ("ncl", "ncl_pred", "cl"))
  assert verdict.startswith("2 of 3 mechanisms rescue a start below 0.8 by most seeds (cl, "
                            "ncl_pred), 1 recover by most seeds from a random start; ")
  table = [line for line in lines if line.startswith("| ") and "mechanism" not in line]
  assert [row.split(" | ")[0][2:] for row in table] == ["cl", "ncl_pred", "ncl"]
  assert "- From a random start, most seeds recover: cl (m = 50 at sparsity 0.1)." in lines
  assert [row.split(" | ")[-2] for row in table] == ["4 / 4", "7 / 9", "3 / 6"]
  # ncl's only rescued level (c = 1) is cut off by its closer unrescued level: no border
  assert ("- Only keep a start that is already recovered (a border at or above the threshold): "
          "none.") in lines


def test_every_statement_agrees_with_the_border_table():
  """A random start that recovers is named even where the border stops short of it; a border
  above the threshold is listed beside the mechanism's rescues elsewhere."""
  cells = CELLS + [
      ("cl", 50, 0.3, 0.0, [(0.1, 0.9, OK), (0.12, 0.85, OK)]),  # recovers from random
      ("cl", 50, 0.3, 1.0, [(0.6, 0.3, OK), (0.62, 0.4, OK)]),  # but c = 1 fails: border cut
      ("cl", 50, 0.3, 2.0, [(0.9, 0.95, OK), (0.91, 0.96, OK)])]  # keeps an 0.90 start
  verdict, lines = rescue.summary(_curves(cells), ("cl",))
  assert "| 0.11 [0.10, 0.12] | 0.91 [0.90, 0.91] |" in "\n".join(lines)
  assert ("- Only keep a start that is already recovered (a border at or above the threshold): "
          "cl (m = 50 at sparsity 0.3).") in lines
  assert any(line.startswith("- From a random start, most seeds recover: cl (m = "
                             "50 at sparsity 0.1; m = 50 at sparsity 0.3).") and
             "does not reach the random start in cl at m = 50, sparsity 0.3" in line
             for line in lines)


def test_one_seed_of_two_does_not_rescue_and_the_border_names_the_split():
  cells = [("cl", 10, 0.1, 0.0, [(0.1, 0.9, OK), (0.12, 0.2, OK)]),  # 1 of 2 from random
           ("cl", 10, 0.1, 1.0, [(0.6, 0.9, OK), (0.62, 0.95, OK)])]
  found = rescue.borders(_curves(cells))[("cl", 10, 0.1)]
  assert found.c == 1.0 and found.beyond == "1 of 2 seeds at 0.11"
  verdict, lines = rescue.summary(_curves(cells), ("cl",))
  assert "0 recover by most seeds from a random start" in verdict
  assert "1 of 1 borders stop at a start whose seeds split" in verdict
  assert "- Start levels whose seeds split, 1: cl at m = 10, sparsity 0.1, c = 0 (1 of 2 " \
      "seeds)." in lines
  assert "| 0.61 [0.60, 0.62]; 1 of 2 seeds at 0.11 |" in "\n".join(lines)


@pytest.mark.parametrize("c", [1.0, 1.5, 2.0])
def test_warm_start_begins_near_its_closed_form(c):
  """One atom per row (m = d): |cos(W_i, M_i)| is about 1 / sqrt(1 + p^(1-c)); the median
  over atoms and seeds is within a few hundredths of it."""
  p, d = 50, 10
  values = []
  for seed in range(20):
    M = make_dictionary(jax.random.key(seed), p, d)
    W = warm_start_weight(jax.random.key(100 + seed), M, d, c)
    values.append(np.asarray(metrics.cosine_matrix(W, M)).max(0))
  np.testing.assert_allclose(np.median(values), 1 / np.sqrt(1 + p ** (1 - c)), atol=0.03)

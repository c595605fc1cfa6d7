"""A run's status from its saved curves and metrics, and the refresh of a saved result."""
import os

import numpy as np

from ncl_landscape.runs import disk
from ncl_landscape.runs.directory import is_complete, save_results
from ncl_landscape.runs.run_status import UNBOUNDED_SCALE, refresh, run_status
from ncl_landscape.training.convergence import convergence

EPOCHS = np.arange(0, 8001, 80)
FALLING = 2.0 - 5.0 * EPOCHS  # a predictor at the identity: -40000 by the end, still falling
SETTLED = 0.4 + 1.6 * np.exp(-EPOCHS / 500)


def _status(loss, within_bound=1.0, complete=0.0):
  return run_status(EPOCHS, np.asarray([loss]), [within_bound], [complete])[0]


def test_a_loss_that_falls_without_bound_is_unbounded():
  assert _status(FALLING) == "unbounded"
  # diverged first: a loss beyond the bound
  assert _status(FALLING, within_bound=0.0) == "diverged"


def test_bounded_negative_losses_stay_ok():
  simsiam = -0.9 + 0.9 * np.exp(-EPOCHS / 500)  # a negative cosine, from 0 to -0.9
  spectral = -1.6 + 0.3 * np.exp(-EPOCHS / 500)  # from -1.3 to -1.6
  assert _status(simsiam) == _status(spectral) == "ok"
  # far below its start, but no longer falling: bounded after all
  plateau = np.maximum(FALLING, -2 * UNBOUNDED_SCALE * 2.0)
  assert plateau[-1] < -UNBOUNDED_SCALE * 2.0 and _status(plateau) == "ok"


def test_a_collapsed_run_is_collapsed_and_an_ordinary_run_ok():
  assert _status(SETTLED, complete=1.0) == "collapsed"
  assert _status(SETTLED) == "ok"
  # no collapse measured: ok
  assert run_status(EPOCHS, np.asarray([SETTLED]), [1.0])[0] == "ok"


def _result(directory: str) -> list[dict]:
  """A small saved result as directory.save_results writes it, of the status and flags the
  old rules gave: an ordinary run, an unbounded one, a collapsed one and a diverged one."""
  maxcos = np.array([0.3 + 0.4 * (1 - np.exp(-EPOCHS / 300)),  # settled
                     np.full(EPOCHS.size, 0.2236),
                     0.4 + 0.3 * EPOCHS / 8000,  # a slow climb, saved as converged
                     np.full(EPOCHS.size, np.nan)])
  loss = np.array([SETTLED, FALLING, SETTLED, np.full(EPOCHS.size, np.nan)])
  flags = ["converged", "still_moving", "converged", ""]
  rows = []
  for r, method in enumerate(["ncl", "ncl_identity", "ncl_collapsed", "ncl_diverged"]):
    row = {"experiment": "t", "method": method, "seed": 0, "epochs": 8000,
           "maxcos_min": float(maxcos[r, -1]), "final_loss": float(loss[r, -1]),
           "status": "diverged" if r == 3 else "ok", "lr": 0.005, "support_match": 1 / 3,
           "collapse_complete": float(r == 2)}
    if flags[r]:
      row.update(convergence=flags[r], slope_per_1000=0.001 * r)
    rows.append(row)
  curves = {"loss": loss, "maxcos_min": maxcos,
            "final_within_bound": np.array([1.0, 1.0, 1.0, 0.0]),
            "final_collapse_complete": np.array([0.0, 0.0, 1.0, 0.0]), "epochs": EPOCHS,
            "method": np.array([r["method"] for r in rows]),
            "status": np.array([r["status"] for r in rows]), "convergence": np.array(flags),
            "seed": np.zeros(4)}
  save_results(directory, "t", {"settings": {}}, rows, curves)
  return rows


def test_refresh_rewrites_status_and_flags_and_keeps_the_rest(tmp_path):
  directory = str(tmp_path / "t")
  _result(directory)
  before = disk.load_summary(os.path.join(directory, "summary.csv"))
  old_curves = disk.load_curves(os.path.join(directory, "curves.npz"))
  changes = refresh(directory)
  assert is_complete(directory)
  derived = disk.load_json(os.path.join(directory, "config.json"))["derived"]
  assert derived["columns"] == ["status", "convergence", "slope_per_1000"]
  assert len(derived["code"]["source_sha256"]) == 64  # the code that derived them
  assert [(c.method, c.status, c.convergence) for c in changes] == [
      ("ncl_identity", ("ok", "unbounded"), ("still_moving", "still_moving")),
      ("ncl_collapsed", ("ok", "collapsed"), ("converged", "still_moving"))]
  after = disk.load_summary(os.path.join(directory, "summary.csv"))
  assert [r["status"] for r in after] == ["ok", "unbounded", "collapsed", "diverged"]
  assert list(after[0]) == list(before[0])  # the same columns, in the same order
  moving, slope = convergence(EPOCHS, old_curves["maxcos_min"], old_curves["loss"])
  assert [r["convergence"] for r in after] == [*moving[:3], ""]
  assert [r["slope_per_1000"] for r in after] == [f"{s:.6g}" for s in slope[:3]] + [""]
  for old, new in zip(before, after):
    assert {k: v for k, v in old.items() if k not in ("status", "convergence",
                                                      "slope_per_1000")} == {
        k: v for k, v in new.items() if k not in ("status", "convergence", "slope_per_1000")}
  assert after[0]["support_match"] == "0.333333"  # disk's number format kept
  curves = disk.load_curves(os.path.join(directory, "curves.npz"))
  assert list(curves) == list(old_curves)
  assert list(curves["status"]) == ["ok", "unbounded", "collapsed", "diverged"]
  assert list(curves["convergence"]) == [*moving[:3], ""]
  for name in set(curves) - {"status", "convergence"}:
    np.testing.assert_array_equal(curves[name], old_curves[name])
  # a second refresh changes nothing
  files = {n: disk.file_digest(os.path.join(directory, n))
           for n in ("summary.csv", "curves.npz", "config.json")}
  assert refresh(directory) == []
  assert files == {n: disk.file_digest(os.path.join(directory, n)) for n in files}

"""An experiment's directory on disk: its result files, written and read back.

out_dir/<id>/ holds summary.csv, curves.npz, weights.npz (grids), the figure and, written last,
config.json with the files' digests and "complete": true (docs/results-format.md); until
config.json lands the directory is incomplete. claim_directory decides whether a run may
write there; load_run reads one run's trained weights back.
"""
from __future__ import annotations

import os

import numpy as np

from ncl_landscape.runs import disk, provenance


RESULT_FILES = ("summary.csv", "curves.npz")  # every experiment's; grids add weights.npz
WEIGHTS = "weights.npz"


def is_complete(directory: str, expected_hash: str | None = None) -> bool:
  """True iff directory holds a finished experiment whose result files are intact.

  Intact: the result files (summary.csv, curves.npz and those config.json lists) still have
  the digests config.json recorded. weights.npz, which no verdict reads, may be absent (the
  surveys' shipped references leave it out for its size); present, it must match too.

  Args:
    directory: the experiment's directory, out_dir/<id>.
    expected_hash: when given, config.json's "hash" must equal it.
  """
  try:
    config = disk.load_json(os.path.join(directory, "config.json"))
    recorded = dict(config.get("files", {}))
    if not os.path.exists(os.path.join(directory, WEIGHTS)):
      recorded.pop(WEIGHTS, None)
    files = {name: disk.file_digest(os.path.join(directory, name))
             for name in set(RESULT_FILES) | set(recorded)}
  except (OSError, ValueError):
    return False
  return (bool(config.get("complete")) and expected_hash in (None, config.get("hash"))
          and recorded == files)


def load_run(directory: str, row: int) -> dict[str, np.ndarray]:
  """Loads one run's trained parameters, dictionary and readout map from weights.npz.

  Args:
    directory: a complete experiment's directory that holds weights.npz.
    row: the run's row in summary.csv (0 for the first run).

  Returns:
    {'online/W': [m, p], ..., 'M': [p, d], 'readout': [m, p]}: the groups and fields of its
    method, its dictionary and the map its metrics read (readout_map).

  Raises:
    IndexError: if no run has that row.
  """
  with np.load(os.path.join(directory, WEIGHTS), allow_pickle=False) as f:
    arrays = dict(f)
  for name, rows in arrays.items():
    if name.endswith("/row") and row in rows:
      arm, i = name[:-len("/row")], int(np.flatnonzero(rows == row)[0])
      run = {k[len(arm) + 1:]: v[i] for k, v in arrays.items()
             if k.startswith(arm + "/") and k != name}
      return {**run, "readout": readout_map(run)}
  raise IndexError(f"no run in row {row} of {directory}/summary.csv")


def readout_map(run: dict[str, np.ndarray]) -> np.ndarray:
  """Returns the [m, p] map that max-cosine and support recovery read (the encoders' readout).

  Args:
    run: one run's flat parameters, {'<group>/<field>': array} (load_run).

  Returns:
    [m, p]: the online W; W W1 for the text's two-layer product; the first layer of the code's
    two-layer encoder (hidden/W) and of the MLP (W0).
  """
  if "online/hidden/W" in run:
    return run["online/hidden/W"]
  if "online/W1" in run:
    return run["online/W"] @ run["online/W1"]
  return run["online/W0"] if "online/W0" in run else run["online/W"]


class ExistingResult(ValueError):
  """out_dir/<id> holds a complete result of another configuration."""


def claim_directory(directory: str, expected_hash: str, force: bool,
                    settings: dict | None = None) -> bool:
  """True if directory already holds the complete result of expected_hash (nothing to do).

  Args:
    directory: the experiment's directory, out_dir/<id>.
    expected_hash: the hash of the experiment as configured now.
    force: let a complete result of another configuration be replaced.
    settings: the settings as configured now, compared with the saved ones in the error.

  Returns:
    True if the result is there; False if the directory is free, incomplete, or (with force)
    holds another configuration's result.

  Raises:
    ExistingResult: if it holds a complete result of another configuration, unless force; the
      message says what is there, which of the given settings differ, and how to keep or
      replace it.
  """
  if not is_complete(directory):
    return False
  config = disk.load_json(os.path.join(directory, "config.json"))
  if config.get("hash") == expected_hash:
    return True
  if force:
    return False
  there = config.get("settings", {})
  differ = [f"{k} (there {there.get(k)!r}, here {v!r})" for k, v in (settings or {}).items()
            if k not in ("same_runs", "options") and _jsonable(v) != there.get(k)]
  raise ExistingResult(
      f"{directory} holds a complete result of another configuration "
      f"({provenance.run_caption(there)}; differs in "
      f"{', '.join(differ) or 'what the code makes of these settings'}): pass --force to "
      "replace it, or --out_dir=... to keep both")


def _jsonable(value):
  """value as config.json gives it back (tuples as lists)."""
  return [_jsonable(v) for v in value] if isinstance(value, (tuple, list)) else value


def save_results(directory: str, experiment: str, config: dict, rows: list[dict], curves: dict,
                 plot=None, tables: dict[str, list[dict]] | None = None,
                 weights: dict[str, np.ndarray] | None = None) -> None:
  """Writes an experiment's result files, config.json last.

  config.json gets the environment (disk.environment: code.diff beside the results of code
  that differed from its commit), the result files' digests and complete: true. Until it
  lands the directory is incomplete (is_complete).

  Args:
    directory: the experiment's directory.
    experiment: its id; the figure is <experiment>.png.
    config: what config.json records beside the environment, digests and completeness.
    rows: summary.csv's rows.
    curves: curves.npz's arrays (curve_arrays); the caption of config's settings is added.
    plot: plot(curves, png_path), drawn from the saved curves; None draws nothing.
    tables: extra CSV files, file name -> rows.
    weights: weights.npz's arrays (weight_arrays); None writes none.
  """
  config_path = os.path.join(directory, "config.json")
  if os.path.exists(config_path):
    os.remove(config_path)  # the directory is incomplete until the new config lands
  curves_path = os.path.join(directory, "curves.npz")
  caption = provenance.run_caption(config.get("settings", {}))
  disk.save_curves(curves_path, **curves, caption=np.array(caption))
  disk.save_summary(os.path.join(directory, "summary.csv"), rows)
  for name, table in (tables or {}).items():
    disk.save_csv(os.path.join(directory, name), table)
  files = RESULT_FILES
  if weights is not None:
    disk.save_curves(os.path.join(directory, WEIGHTS), **weights)
    files += (WEIGHTS,)
  if plot is not None:
    plot(disk.load_curves(curves_path), os.path.join(directory, f"{experiment}.png"))
  environment = disk.environment(directory)
  if environment["code"].get("diff_sha256"):
    files += (disk.CODE_DIFF,)
  disk.save_json(config_path, {
      "experiment": experiment, **config, "environment": environment,
      "files": {name: disk.file_digest(os.path.join(directory, name)) for name in files},
      "complete": True})

"""Results on disk: config.json, summary.csv, curves.npz (README, "Results on disk").

Every file is written to a temporary name and renamed into place, so a reader never
sees a half-written file.
"""
from __future__ import annotations

import csv
import hashlib
import importlib.metadata
import io
import json
import math
import os
import platform
import subprocess
import tempfile

import jax
import numpy as np

SUMMARY_COLUMNS = (
    "experiment", "method", "seed", "sparsity", "mask_prob", "warm_start_c", "epochs",
    "maxcos_max", "maxcos_median", "maxcos_min", "final_loss", "status", "convergence",
    "slope_per_1000",
    "lr", "temperature", "atoms_missed", "support_match", "false_support", "sparsity_gap",
)
PACKAGES = ("jax", "jaxlib", "optax", "flax", "chex", "numpy", "absl-py", "matplotlib")
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def atomic_write(path: str, data: bytes) -> None:
  """Writes data to path via a temporary file in the same directory and a rename."""
  directory = os.path.dirname(path) or "."
  os.makedirs(directory, exist_ok=True)
  fd, tmp = tempfile.mkstemp(dir=directory, prefix=".tmp-", suffix=os.path.basename(path))
  try:
    with os.fdopen(fd, "wb") as f:
      f.write(data)
    os.chmod(tmp, 0o644)
    os.replace(tmp, path)
  except BaseException:
    if os.path.exists(tmp):
      os.remove(tmp)
    raise


def file_digest(path: str) -> str:
  """SHA-256 of a file's bytes."""
  with open(path, "rb") as f:
    return hashlib.sha256(f.read()).hexdigest()


CODE_PATHS = ("ncl_landscape", "experiments", "pyproject.toml")


def code_commit() -> dict:
  """The git commit the package was run from and whether its code (CODE_PATHS) differed from
  it; results written into a tracked folder (reference/) do not count ({} outside a git
  checkout)."""
  def git(*args):
    return subprocess.run(["git", "-C", REPO, *args], capture_output=True, text=True,
                          timeout=30, check=True).stdout.strip()
  try:
    return {"commit": git("rev-parse", "HEAD"),
            "dirty": bool(git("status", "--porcelain", "--untracked-files=no", "--", *CODE_PATHS))}
  except (OSError, subprocess.SubprocessError):
    return {}


def machine() -> dict:
  """CPU model, core count and platform of the host."""
  cpu = platform.processor() or platform.machine()
  try:
    with open("/proc/cpuinfo") as f:
      cpu = next((line.split(":", 1)[1].strip() for line in f
                  if line.startswith("model name")), cpu)
  except OSError:
    pass
  return {"cpu": cpu, "cores": os.cpu_count(), "platform": platform.platform()}


def environment() -> dict:
  """Package versions, Python, JAX backend and devices, the code's commit and the machine,
  for config.json."""
  versions = {}
  for name in PACKAGES:
    try:
      versions[name] = importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
      versions[name] = None
  return {
      "versions": versions,
      "python": platform.python_version(),
      "backend": jax.default_backend(),
      "devices": [str(d) for d in jax.devices()],
      "code": code_commit(),
      "machine": machine(),
  }


def save_json(path: str, obj: dict) -> None:
  atomic_write(path, (json.dumps(obj, indent=2, sort_keys=True, default=str) + "\n").encode())


def load_json(path: str) -> dict:
  with open(path) as f:
    return json.load(f)


def _cell(value) -> str:
  if value is None:
    return ""
  if isinstance(value, (float, np.floating)):
    return "nan" if math.isnan(value) else f"{float(value):.6g}"
  return str(value)


def save_summary(path: str, rows: list[dict]) -> None:
  """One CSV row per trained network: SUMMARY_COLUMNS first; missing cells are empty."""
  save_csv(path, rows, SUMMARY_COLUMNS)


def save_csv(path: str, rows: list[dict], first: tuple[str, ...] = ()) -> None:
  """Rows as CSV: the `first` columns, then the others in order of appearance; missing cells
  are empty."""
  columns = list(first)
  for row in rows:
    columns += [k for k in row if k not in columns]
  buf = io.StringIO()
  writer = csv.DictWriter(buf, fieldnames=columns, lineterminator="\n")
  writer.writeheader()
  for row in rows:
    writer.writerow({c: _cell(row.get(c)) for c in columns})
  atomic_write(path, buf.getvalue().encode())


def load_summary(path: str) -> list[dict]:
  with open(path, newline="") as f:
    return list(csv.DictReader(f))


def save_curves(path: str, **arrays) -> None:
  buf = io.BytesIO()
  np.savez_compressed(buf, **arrays)
  atomic_write(path, buf.getvalue())


def load_curves(path: str) -> dict:
  with np.load(path, allow_pickle=False) as f:
    return dict(f)

"""Results on disk: config.json, summary.csv, curves.npz (docs/results-format.md).

Every file is written to a temporary name and renamed into place, so a reader never
sees a half-written file.
"""
from __future__ import annotations

import csv
import glob
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
REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


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
SOURCE = ("experiments", "ncl_landscape")  # the package's own source: their *.py files
CODE_DIFF = "code.diff"  # beside the results of code that differed from its commit


def source_digest() -> str:
  """SHA-256 of the package's own source, wherever it was copied.

  Of the lines '<sha256 of file>  <path>' of every *.py file under SOURCE's folders, paths
  relative to REPO and sorted, i.e. in REPO
  `find experiments ncl_landscape -name '*.py' | LC_ALL=C sort | xargs sha256sum | sha256sum`.
  """
  paths = sorted(os.path.relpath(path, REPO) for folder in SOURCE
                 for path in glob.glob(os.path.join(REPO, folder, "**", "*.py"), recursive=True))
  lines = "".join(f"{file_digest(os.path.join(REPO, path))}  {path}\n" for path in paths)
  return hashlib.sha256(lines.encode()).hexdigest()


def _git(*args: str, ok: tuple[int, ...] = (0,)) -> bytes:
  """git's output in REPO; an exit status outside `ok` raises."""
  proc = subprocess.run(["git", "-C", REPO, *args], capture_output=True, timeout=30)
  if proc.returncode not in ok:
    raise subprocess.CalledProcessError(proc.returncode, args, proc.stdout, proc.stderr)
  return proc.stdout


def code_diff() -> bytes:
  """The code (CODE_PATHS) against its commit as a patch, untracked files not ignored included.

  `git apply` at the top of a checkout of that commit turns the patch into the code.
  """
  options = ("--binary", "--no-color", "--no-ext-diff", "--no-textconv")
  diff = _git("diff", *options, "--src-prefix=a/", "--dst-prefix=b/", "HEAD", "--", *CODE_PATHS)
  prefix = _git("rev-parse", "--show-prefix").decode().strip()  # REPO in the checkout
  untracked = _git("ls-files", "--others", "--exclude-standard", "-z", "--", *CODE_PATHS)
  for path in sorted(p for p in untracked.decode().split("\0") if p):
    diff += _git("diff", "--no-index", *options, f"--src-prefix=a/{prefix}",
                 f"--dst-prefix=b/{prefix}", "--", os.devnull, path, ok=(0, 1))
  return diff


def code_commit() -> tuple[dict, bytes]:
  """Returns (config.json's environment "code", the code's difference from its commit).

  "code": the digest of the package's own source (source_digest: "source_sha256"); in a git
  checkout also the commit ("commit") and whether the code differed from it ("dirty":
  code_diff is not empty; its digest "diff_sha256"). Results written into a tracked folder
  (reference/) do not count.
  """
  code = {"source_sha256": source_digest()}
  try:
    commit, diff = _git("rev-parse", "HEAD").decode().strip(), code_diff()
  except (OSError, subprocess.SubprocessError):
    return code, b""
  code.update(commit=commit, dirty=bool(diff))
  if diff:
    code["diff_sha256"] = hashlib.sha256(diff).hexdigest()
  return code, diff


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


def environment(directory: str | None = None) -> dict:
  """Returns config.json's "environment": what the results were computed with.

  Package versions, Python, JAX backend and devices, the code (code_commit) and the machine.

  Args:
    directory: the results' directory; when given, the code's difference from its commit is
      written there as CODE_DIFF (and a stale one removed).
  """
  versions = {}
  for name in PACKAGES:
    try:
      versions[name] = importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
      versions[name] = None
  code, diff = code_commit()
  if directory is not None:
    path = os.path.join(directory, CODE_DIFF)
    if diff:
      atomic_write(path, diff)
    elif os.path.exists(path):
      os.remove(path)
  return {
      "versions": versions,
      "python": platform.python_version(),
      "backend": jax.default_backend(),
      "devices": [str(d) for d in jax.devices()],
      "code": code,
      "machine": machine(),
  }


def save_json(path: str, obj: dict) -> None:
  """Writes obj as indented JSON, keys sorted, other values as their str (atomic_write)."""
  atomic_write(path, (json.dumps(obj, indent=2, sort_keys=True, default=str) + "\n").encode())


def load_json(path: str) -> dict:
  """The JSON object in the file at path."""
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
  """Writes rows as CSV, the `first` columns first; missing cells are empty.

  The other columns follow in order of appearance.
  """
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
  """A CSV file's rows (summary.csv's or another table's), each {column: string}."""
  with open(path, newline="") as f:
    return list(csv.DictReader(f))


def save_curves(path: str, **arrays) -> None:
  """Writes the named arrays as a compressed .npz file (atomic_write)."""
  buf = io.BytesIO()
  np.savez_compressed(buf, **arrays)
  atomic_write(path, buf.getvalue())


def load_curves(path: str) -> dict:
  """An .npz file's arrays, {name: array}, read without pickles."""
  with np.load(path, allow_pickle=False) as f:
    return dict(f)

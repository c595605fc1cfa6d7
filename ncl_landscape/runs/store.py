"""Resumable results: DIR/<id>/chunks/<arm>/<i>.npz per finished chunk (curves, final
metrics, parameters, dictionary), <arm>/segment-<i>.npz for an unfinished one (the carry
after its last finished segment of epochs, and the logs so far), and a manifest.

Both also hold the seconds the chunk has trained so far, across resumes ('seconds'), and the
seconds of the compiles charged to it ('compile_seconds'; experiment.run_arm).

The manifest maps each arm to the hash of what determines its results (its config,
grid, chunk size and vmap width) and each file to its SHA-256. A file is used only if
its arm's hash matches and its digest is the one recorded, so a changed config, a
half-written or a corrupted file is recomputed. A finished chunk replaces its segment
file, so a results folder does not grow with the epochs.
"""
from __future__ import annotations

import hashlib
import io
import json
import math
import os

import jax
import numpy as np

from ncl_landscape.runs import disk
from ncl_landscape.training.train import RunOutput

MANIFEST = "manifest.json"


def digest(obj) -> str:
  """SHA-256 of a JSON-serialisable object (keys sorted)."""
  return hashlib.sha256(json.dumps(obj, sort_keys=True, default=str).encode()).hexdigest()


def config_digest(config: dict) -> str:
  """Returns the digest of an experiment's config ({"settings": ...}) without its None settings.

  A None setting is a flag neither given nor in the profile, so a flag added later leaves the
  digest unchanged.
  """
  settings = {k: v for k, v in config.get("settings", {}).items() if v is not None}
  return digest({**config, "settings": settings})


def _manifest_path(directory: str) -> str:
  return os.path.join(directory, "chunks", MANIFEST)


def load_manifest(directory: str) -> dict:
  """The manifest, {arm: {"hash": ..., "chunks": {name: sha256}}}; {} if none is readable."""
  try:
    return disk.load_json(_manifest_path(directory))
  except (OSError, ValueError):
    return {}


def flat_params(params) -> dict[str, np.ndarray]:
  """Flattens a parameter pytree to {'online/W': [...], 'online/bn/scale': [...], ...}.

  None leaves are dropped; a dict already flat is returned as it is.
  """
  if all(isinstance(v, np.ndarray) for v in params.values()):
    return dict(params)
  leaves = jax.tree_util.tree_flatten_with_path(params)[0]
  name = lambda path: "/".join(str(getattr(k, "key", getattr(k, "name", k))) for k in path)
  return {name(path): np.asarray(v) for path, v in leaves}


def _arrays(out: RunOutput) -> dict[str, np.ndarray]:
  groups = {"curves": out.curves, "final": out.final, "params": flat_params(out.params)}
  return {"M": out.M, **{f"{g}.{k}": v for g, arrays in groups.items() for k, v in arrays.items()}}


def _encode(arrays: dict) -> bytes:
  buf = io.BytesIO()
  np.savez(buf, **arrays)
  return buf.getvalue()


def _decode(data: bytes) -> dict[str, np.ndarray]:
  with np.load(io.BytesIO(data), allow_pickle=False) as f:
    return dict(f)


def _group(arrays: dict, prefix: str) -> dict:
  return {k[len(prefix):]: v for k, v in arrays.items() if k.startswith(prefix)}


def _load(directory: str, name: str, path: str, arm_hash: str) -> dict | None:
  """The arrays of a manifest entry `name` (a chunk index or 'segment-<i>') of an arm, if it
  belongs to arm_hash and its file is intact, else None."""
  entry = load_manifest(directory).get(path.split("/")[0], {})
  expected = entry.get("chunks", {}).get(name)
  if entry.get("hash") != arm_hash or expected is None:
    return None
  try:
    if disk.file_digest(path_of(directory, path)) != expected:
      return None
    with open(path_of(directory, path), "rb") as f:
      return _decode(f.read())
  except (OSError, ValueError):
    return None


def path_of(directory: str, path: str) -> str:
  """The file of a manifest entry's path '<arm>/<name>': DIR/chunks/<arm>/<name>.npz."""
  return os.path.join(directory, "chunks", path + ".npz")


def _save(directory: str, arm: str, name: str, path: str, arm_hash: str, arrays: dict,
          drop: str | None = None) -> None:
  """Writes the file atomically, then records it in the manifest (atomically), dropping the
  entry `drop` and its file if given."""
  data = _encode(arrays)
  disk.atomic_write(path_of(directory, path), data)
  manifest = load_manifest(directory)
  entry = manifest.get(arm, {})
  if entry.get("hash") != arm_hash:
    entry = {"hash": arm_hash, "chunks": {}}
  entry["chunks"][name] = hashlib.sha256(data).hexdigest()
  if drop is not None:
    entry["chunks"].pop(drop, None)
  manifest[arm] = entry
  disk.save_json(_manifest_path(directory), manifest)
  if drop is not None and os.path.exists(path_of(directory, f"{arm}/{drop}")):
    os.remove(path_of(directory, f"{arm}/{drop}"))


def _seconds(arrays: dict) -> tuple[float, float]:
  """(training seconds, compile seconds); a file saved before compiles were kept has none."""
  return (float(arrays["seconds"]) if "seconds" in arrays else math.nan,
          float(arrays.get("compile_seconds", 0.0)))


def load_chunk(directory: str, arm: str, index: int,
               arm_hash: str) -> tuple[RunOutput, float, float] | None:
  """Loads a finished chunk if it belongs to arm_hash and its file is intact.

  Args:
    directory: the experiment's directory.
    arm: the arm's name.
    index: the chunk's index.
    arm_hash: the arm's hash now (experiment.arm_hash).

  Returns:
    (out, seconds, compile_seconds), or None: out, the chunk's RunOutput (curves [runs,
    points], final [runs], params flat as flat_params gives them, M [runs, p, d]); its training
    seconds (NaN if not saved) and the compile seconds charged to it.
  """
  arrays = _load(directory, str(index), f"{arm}/{index}", arm_hash)
  if arrays is None:
    return None
  return RunOutput(curves=_group(arrays, "curves."), final=_group(arrays, "final."),
                   params=_group(arrays, "params."), M=arrays["M"]), *_seconds(arrays)


def save_chunk(directory: str, arm: str, index: int, arm_hash: str, out: RunOutput,
               seconds: float, compile_seconds: float) -> None:
  """Writes the finished chunk and removes its segment file, if any.

  Args:
    directory: the experiment's directory.
    arm: the arm's name.
    index: the chunk's index.
    arm_hash: the arm's hash (experiment.arm_hash).
    out: the chunk's RunOutput of host arrays [runs, ...].
    seconds: the seconds it trained, across resumes.
    compile_seconds: the compile seconds charged to it.
  """
  _save(directory, arm, str(index), f"{arm}/{index}", arm_hash,
        {**_arrays(out), "seconds": np.float64(seconds),
         "compile_seconds": np.float64(compile_seconds)}, drop=f"segment-{index}")


def save_segment(directory: str, arm: str, index: int, arm_hash: str, carry_leaves: list,
                 logs: dict, seconds: float, compile_seconds: float) -> None:
  """Writes the state of an unfinished chunk after a segment, replacing the previous one.

  Args:
    directory: the experiment's directory.
    arm: the arm's name.
    index: the chunk's index.
    arm_hash: the arm's hash (experiment.arm_hash).
    carry_leaves: the carry's leaves, host arrays in tree order.
    logs: the logs so far, name -> host array.
    seconds: the chunk's training seconds so far.
    compile_seconds: the compile seconds charged to it so far.
  """
  arrays = {f"carry.{i:04d}": v for i, v in enumerate(carry_leaves)}
  arrays.update({f"logs.{k}": v for k, v in logs.items()})
  arrays["seconds"] = np.float64(seconds)
  arrays["compile_seconds"] = np.float64(compile_seconds)
  _save(directory, arm, f"segment-{index}", f"{arm}/segment-{index}", arm_hash, arrays)


def load_segment(directory: str, arm: str, index: int, arm_hash: str):
  """Loads the chunk's last saved segment if it belongs to arm_hash and its file is intact.

  Returns:
    (carry leaves, logs, training seconds so far, compile seconds so far), or None.
  """
  arrays = _load(directory, f"segment-{index}", f"{arm}/segment-{index}", arm_hash)
  if arrays is None:
    return None
  carry = _group(arrays, "carry.")
  return [carry[k] for k in sorted(carry)], _group(arrays, "logs."), *_seconds(arrays)

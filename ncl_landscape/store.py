"""Resumable chunk results: DIR/<id>/chunks/<arm>-<i>.npz and a manifest.

The manifest maps each arm to the hash of what determines its results (its config,
grid, chunk size and vmap width) and each finished chunk to the SHA-256 of its file.
A chunk is reused only if its arm's hash matches and its file's digest is the one
recorded, so a changed config, a half-written or a corrupted file is recomputed.
"""
from __future__ import annotations

import hashlib
import io as _io
import json
import os

import numpy as np

from ncl_landscape import io
from ncl_landscape.train import RunOutput

MANIFEST = "manifest.json"


def digest(obj) -> str:
  """SHA-256 of a JSON-serialisable object (keys sorted)."""
  return hashlib.sha256(json.dumps(obj, sort_keys=True, default=str).encode()).hexdigest()


def _manifest_path(directory: str) -> str:
  return os.path.join(directory, "chunks", MANIFEST)


def _chunk_path(directory: str, arm: str, index: int) -> str:
  return os.path.join(directory, "chunks", f"{arm}-{index}.npz")


def load_manifest(directory: str) -> dict:
  try:
    return io.load_json(_manifest_path(directory))
  except (OSError, ValueError):
    return {}


def _encode(out: RunOutput) -> bytes:
  arrays = {k: getattr(out, k) for k in ("loss", "maxcos_max", "maxcos_median", "maxcos_min")}
  arrays.update({f"final.{k}": v for k, v in out.final.items()})
  arrays.update({f"terms.{k}": v for k, v in out.terms.items()})
  buf = _io.BytesIO()
  np.savez(buf, **arrays)
  return buf.getvalue()


def _decode(data: bytes) -> RunOutput:
  with np.load(_io.BytesIO(data), allow_pickle=False) as f:
    arrays = dict(f)
  group = lambda prefix: {k[len(prefix):]: v for k, v in arrays.items() if k.startswith(prefix)}
  return RunOutput(loss=arrays["loss"], terms=group("terms."), maxcos_max=arrays["maxcos_max"],
                   maxcos_median=arrays["maxcos_median"], maxcos_min=arrays["maxcos_min"],
                   final=group("final."), params={})


def load_chunk(directory: str, arm: str, index: int, arm_hash: str) -> RunOutput | None:
  """The saved chunk if it belongs to arm_hash and its file is intact, else None."""
  entry = load_manifest(directory).get(arm, {})
  expected = entry.get("chunks", {}).get(str(index))
  if entry.get("hash") != arm_hash or expected is None:
    return None
  path = _chunk_path(directory, arm, index)
  try:
    if io.file_digest(path) != expected:
      return None
    with open(path, "rb") as f:
      return _decode(f.read())
  except (OSError, ValueError):
    return None


def save_chunk(directory: str, arm: str, index: int, arm_hash: str, out: RunOutput) -> None:
  """Writes the chunk atomically, then records it in the manifest (atomically)."""
  data = _encode(out)
  io.atomic_write(_chunk_path(directory, arm, index), data)
  manifest = load_manifest(directory)
  entry = manifest.get(arm, {})
  if entry.get("hash") != arm_hash:
    entry = {"hash": arm_hash, "chunks": {}}
  entry["chunks"][str(index)] = hashlib.sha256(data).hexdigest()
  manifest[arm] = entry
  io.save_json(_manifest_path(directory), manifest)

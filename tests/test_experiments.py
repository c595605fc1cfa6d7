"""End to end: every binary on the smoke profile writes the CONTRACT files; bad flags fail fast."""
import csv
import json
import os
import subprocess
import sys

import numpy as np
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXPERIMENTS = ["fig1", "fig2"]
REQUIRED = ["experiment", "method", "seed", "sparsity", "mask_prob", "warm_start_c", "epochs",
            "maxcos_max", "maxcos_median", "maxcos_min", "final_loss", "status"]


def run(module, *args):
  return subprocess.run([sys.executable, "-m", module, *args], cwd=ROOT, capture_output=True,
                        text=True, timeout=600)


@pytest.fixture(scope="module")
def smoke_results(tmp_path_factory):
  out = tmp_path_factory.mktemp("results")
  for exp in EXPERIMENTS:
    proc = run(f"experiments.{exp}", "--profile=smoke", f"--out_dir={out}")
    assert proc.returncode == 0, proc.stderr[-2000:]
  return out


@pytest.mark.parametrize("exp", EXPERIMENTS)
def test_smoke_writes_the_contract_files(smoke_results, exp):
  d = smoke_results / exp
  config = json.loads((d / "config.json").read_text())
  assert config["complete"] and config["settings"]["profile"] == "smoke"
  assert config["environment"]["versions"]["jax"]
  rows = list(csv.DictReader(open(d / "summary.csv")))
  assert set(REQUIRED) <= set(rows[0])
  assert {r["method"] for r in rows} == {"ncl", "cl"}
  assert {r["status"] for r in rows} == {"ok"}
  with np.load(d / "curves.npz") as curves:
    assert curves["maxcos_min"].shape == (len(rows), len(curves["epochs"]))
    for r, row in enumerate(rows):
      np.testing.assert_allclose(curves["maxcos_min"][r, -1], float(row["maxcos_min"]), rtol=1e-4)
  assert (d / f"{exp}.png").stat().st_size > 10_000


@pytest.mark.parametrize("flag,needle", [
    ("--sparsities=0,0.5", "--sparsities"), ("--sparsities=1.5", "(0, 1]"),
    ("--mask_probs=1", "[0, 1)"), ("--epochs=0", "--epochs"), ("--seeds=two", "--seeds"),
    ("--profile=huge", "--profile"), ("--cl_masks=both", "--cl_masks"), ("--lr=-1", "--lr"),
])
def test_bad_flags_exit_with_one_line_and_keep_results(smoke_results, flag, needle):
  before = (smoke_results / "fig2" / "summary.csv").read_bytes()
  proc = run("experiments.fig2", flag, f"--out_dir={smoke_results}")
  assert proc.returncode != 0
  lines = [l for l in proc.stderr.splitlines() if l.strip() and "libtpu" not in l
           and "tpu" not in l]
  assert len(lines) == 1 and needle in lines[0], proc.stderr
  assert (smoke_results / "fig2" / "summary.csv").read_bytes() == before

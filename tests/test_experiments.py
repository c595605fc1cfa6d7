"""End to end: every binary on the smoke profile writes the result files; bad flags fail fast."""
import csv
import functools
import hashlib
import importlib
import json
import os
import re
import subprocess
import sys

import numpy as np
import pytest
from conftest import run_here

from experiments import cli, common, thm3, warm_start
from ncl_landscape.plots import paper as plotting
from ncl_landscape.report import rescue
from ncl_landscape.runs import disk
from ncl_landscape.runs.directory import load_run
from ncl_landscape.testbed.metrics import max_cosine

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXPERIMENTS = ["fig1", "fig2", "fig3", "fig4", "fig5", "fig6", "fig7", "table1", "thm1", "thm2",
               "thm3", "atlas", "rescue"]
ATLAS_METHODS = ("vicreg", "directpred", "simclr_sq")  # one per kind of method, to keep it short
RESCUE_MECHANISMS = ("ncl_pred", "byol", "cl")  # its smoke profile's: a predictor, an EMA rule,
                                                # a contrastive loss
EXTRA_ARGS = {"atlas": [f"--methods={','.join(ATLAS_METHODS)}"]}
METHODS = {"fig1": {"ncl", "cl"}, "fig2": {"ncl", "cl"}, "fig3": {"ncl_2layer", "ncl_2layer_product"},
           "fig4": {"ncl_warm"}, "fig5": {"ncl_warm_pred"}, "fig6": {"ncl_pred"},
           "fig7": {"ncl_warm_rownorm", "ncl_warm_colnorm"} | {
               f"ncl_warm_pred_{n}_{m}" for n in ("rownorm", "colnorm")
               for m in ("identity", "random")},
           "table1": {"simplified_simclr", "simplified_simsiam", "simplified_simsiam_enc_pred"},
           "thm1": {"ncl_exact", "cl_exact"}, "thm2": {"dual_linear"},
           "thm3": {"srelu_rownorm", "srelu_rownorm_10x_error", "srelu_no_norm",
                    "srelu_rownorm_from_solution"},
           "atlas": set(ATLAS_METHODS), "rescue": {f"{m}_m10" for m in RESCUE_MECHANISMS}}
THEOREMS = ("thm1", "thm2", "thm3")
GRIDS = [e for e in EXPERIMENTS if e not in THEOREMS]
REQUIRED = ["experiment", "method", "seed", "sparsity", "mask_prob", "warm_start_c", "epochs",
            "maxcos_max", "maxcos_median", "maxcos_min", "final_loss", "status"]


def run(module, *args):
  return subprocess.run([sys.executable, "-m", module, *args], cwd=ROOT, capture_output=True,
                        text=True, timeout=600)


smoke_logs = {}  # experiment -> what its smoke run logged


@pytest.fixture(scope="module")
def smoke_results(tmp_path_factory):
  """Every binary on the smoke profile, one after the other in this process (each is mostly
  compilation)."""
  out = tmp_path_factory.mktemp("results")
  for exp in EXPERIMENTS:
    smoke_logs[exp] = run_here(exp, "--profile=smoke", f"--out_dir={out}",
                               *EXTRA_ARGS.get(exp, []))
  return out


@pytest.mark.parametrize("exp", EXPERIMENTS)
def test_smoke_writes_the_contract_files(smoke_results, exp):
  d = smoke_results / exp
  config = json.loads((d / "config.json").read_text())
  assert config["complete"] and config["settings"]["profile"] == "smoke"
  assert config["environment"]["versions"]["jax"]
  rows = list(csv.DictReader(open(d / "summary.csv")))
  assert set(REQUIRED) <= set(rows[0])
  assert {r["method"] for r in rows} == METHODS[exp]
  statuses = {r["status"] for r in rows}
  assert statuses == {"ok"} or (exp == "thm3" and statuses <= {"ok", "diverged"})
  if exp in THEOREMS:
    theory = list(csv.DictReader(open(d / "theory.csv")))
    assert theory and {"quantity", "predicted", "measured"} <= set(theory[0])
  else:
    with np.load(d / "curves.npz") as curves:
      assert curves["maxcos_min"].shape == (len(rows), len(curves["epochs"]))
      for r, row in enumerate(rows):
        np.testing.assert_allclose(curves["maxcos_min"][r, -1], float(row["maxcos_min"]),
                                   rtol=1e-4)
  assert (d / f"{exp}.png").stat().st_size > 10_000


NOT_OURS = "not a flag of this binary"
BAD_FLAGS = [
    ("fig2", "--sparsities=0,0.5", "--sparsities"), ("fig2", "--sparsities=1.5", "(0, 1]"),
    ("fig2", "--mask_probs=1", "[0, 1)"), ("fig2", "--epochs=0", "--epochs"),
    ("fig2", "--seeds=two", "--seeds"), ("fig1", "--profile=huge", "--profile"),
    ("fig2", "--cl_masks=both", "--cl_masks"), ("fig2", "--lr=-1", "--lr"),
    ("fig2", "--max_runs_per_call=0", "--max_runs_per_call"),
    ("table1", "--vmap_width=x", "--vmap_width"), ("fig4", "--warm_start_c=-1", "--warm_start_c"),
    ("fig3", "--latent=dense", "--latent"), ("fig2", "--warm_start_c=1", NOT_OURS),
    ("fig1", "--sparsities=0.1", NOT_OURS), ("thm2", "--log_every=3", NOT_OURS),
    ("thm1", "--seeds=0", "--seeds"), ("atlas", "--methods=vicreg,sgd", "--methods"),
    ("fig2", "--methods=vicreg", NOT_OURS), ("fig7", "--fidelities=as_said", "--fidelities"),
    ("fig5", "--head_init=zero", "--head_init"), ("fig2", "--fidelities=as_run", NOT_OURS),
    ("fig4", "--head_init=gaussian", NOT_OURS),
    ("fig2", "--segment_epochs=0", "--segment_epochs"), ("rescue", "--widths=10,0", "--widths"),
    ("rescue", "--mechanisms=ncl,sgd", "--mechanisms"), ("rescue", "--widths=", "--widths"),
    ("rescue", "--recovered_at=1.5", "(0, 1]"), ("fig2", "--widths=10", NOT_OURS),
    ("atlas", "--encoder=cnn", "--encoder"), ("fig2", "--encoder=mlp", NOT_OURS),
    ("fig2", "--noise_std=-1", ">= 0"), ("fig5", "--predictor_bias=maybe", "--predictor_bias"),
    ("thm1", "--activation=relu", NOT_OURS),
]


@pytest.mark.parametrize("exp", ["fig4", "thm2"])
def test_an_out_dir_that_cannot_hold_results_exits_2_before_any_compute(tmp_path, capsys, exp):
  (tmp_path / "file").write_text("not a directory")
  with pytest.raises(SystemExit) as exited:
    run_here(exp, "--profile=smoke", f"--out_dir={tmp_path / 'file'}")
  lines = capsys.readouterr().err.strip().splitlines()
  assert exited.value.code == 2 and lines[-1].startswith("error: --out_dir must be a writable")
  assert not list(tmp_path.glob("**/*.npz"))


@pytest.mark.parametrize("exp,flag,needle", BAD_FLAGS)
def test_bad_flags_are_refused_before_any_compute(exp, flag, needle):
  """In process: the binary's own settings resolution raises one message naming the flag."""
  binary = importlib.import_module(f"experiments.{exp}").main
  with pytest.raises(cli.FlagError) as error:
    binary.parse([exp, flag])
    binary.resolve()
  assert needle in str(error.value) and "\n" not in str(error.value)


def test_the_text_choices_are_flags_of_every_grid_binary():
  binary = importlib.import_module("experiments.fig5").main
  binary.parse(["fig5", "--profile=smoke", "--activation=srelu_paper", "--bias_init=zero",
                "--noise_std=0", "--alternation=pair", "--partial_batch=drop",
                "--nopredictor_bias"])
  s = binary.resolve()
  arms = importlib.import_module("experiments.warm_start").make_arms(
      importlib.import_module("experiments.fig5").FIGURE, s)
  cfg = common.text_choices(s, arms[0].cfg)
  assert (cfg.model.activation, cfg.model.bias_init, cfg.model.predictor) == (
      "srelu_paper", "zero", "linear")
  assert (cfg.data.noise, cfg.train.alternation, cfg.train.drop_last) == (0.0, "pair", True)
  assert s["options"]["predictor_bias"] == "False"
  binary.parse(["fig5", "--profile=smoke"])
  assert common.text_choices(binary.resolve(), arms[0].cfg) == arms[0].cfg  # as run


def test_help_lists_the_binary_own_flags_with_their_profile_defaults():
  proc = run("experiments.fig2", "--help")
  assert proc.returncode == 0
  assert "--cl_masks" in proc.stdout and "--widths" not in proc.stdout
  assert "Default per profile: smoke 4, quick 400, paper 8000." in " ".join(proc.stdout.split())


@pytest.mark.parametrize("exp,flag,needle", [BAD_FLAGS[1], BAD_FLAGS[12]])
def test_a_bad_flag_exits_2_with_one_line_and_keeps_results(smoke_results, exp, flag, needle):
  before = (smoke_results / exp / "summary.csv").read_bytes()
  proc = run(f"experiments.{exp}", flag, f"--out_dir={smoke_results}")
  assert proc.returncode == 2
  lines = [l for l in proc.stderr.splitlines() if l.strip()]
  assert len(lines) == 1 and needle in lines[0], proc.stderr
  assert (smoke_results / exp / "summary.csv").read_bytes() == before


def test_another_configuration_is_kept_and_a_deleted_figure_redrawn(smoke_results, capsys):
  d = smoke_results / "fig4"
  before = (d / "summary.csv").read_bytes()
  with pytest.raises(SystemExit) as exited:
    run_here("fig4", "--profile=smoke", "--seeds=1", f"--out_dir={smoke_results}")
  assert exited.value.code == 2 and "--force" in capsys.readouterr().err.strip().splitlines()[-1]
  assert (d / "summary.csv").read_bytes() == before
  (d / "fig4.png").unlink()
  assert "figure redrawn" in run_here("fig4", "--profile=smoke", f"--out_dir={smoke_results}")
  assert (d / "fig4.png").stat().st_size > 10_000 and (d / "summary.csv").read_bytes() == before


PROGRESS = re.compile(r"(\w+)/(\w+): epoch (\d+)/(\d+), runs (\d+)/(\d+), (\d+) run-steps/s, "
                      r"ETA (\d+)s, diverged (\d+)$")


@pytest.mark.parametrize("exp", GRIDS)
def test_progress_lines_and_saved_weights(smoke_results, exp):
  """Every arm logs progress lines of the documented form; every summary row's weights load
  with one call, whose readout gives back its minimum max-cosine (Figure 3's two-layer
  forms read their first layer or the product W W1)."""
  lines = [PROGRESS.search(l) for l in smoke_logs[exp].splitlines()]
  lines = [m for m in lines if m]
  assert lines and {m.group(1) for m in lines} == {exp}
  assert {m.group(2) for m in lines} == METHODS[exp]
  assert all(m.group(4) == lines[0].group(4) for m in lines)
  rows = list(csv.DictReader(open(smoke_results / exp / "summary.csv")))
  for r in (0, len(rows) - 1):
    run_weights = load_run(str(smoke_results / exp), r)
    np.testing.assert_allclose(float(max_cosine(run_weights["readout"], run_weights["M"]).min),
                               float(rows[r]["maxcos_min"]), rtol=1e-4)


def test_rescue_draws_the_map_and_the_scatter_and_reports_borders(smoke_results):
  d = smoke_results / "rescue"
  assert (d / "rescue_scatter.png").stat().st_size > 10_000
  with np.load(d / "curves.npz") as curves:
    assert sorted(set(curves["warm_start_c"])) == [0.0, 1.0]  # the random start and c = 1
  verdict, lines = rescue.summary(disk.load_curves(str(d / "curves.npz")), RESCUE_MECHANISMS)
  assert f"of {len(RESCUE_MECHANISMS)} mechanisms rescue" in verdict
  assert any(line.startswith("| ncl_pred |") for line in lines)


def test_atlas_logs_terms_diagnostics_and_both_starts(smoke_results):
  d = smoke_results / "atlas"
  rows = list(csv.DictReader(open(d / "summary.csv")))
  assert {r["warm_start_c"] for r in rows} == {"0", "1"}  # random and warm starts, one grid
  for r in rows:
    assert 0 < float(r["effective_rank"]) <= 1
    assert r["collapse_complete"] in ("0", "1") and r["collapse_dimensional"] in ("0", "1")
    assert (r["commutator"] != "") == (r["method"] == "directpred")
  with np.load(d / "curves.npz") as curves:
    vicreg = curves["method"] == "vicreg"
    terms = sum(curves[f"term_{t}"] for t in ("invariance", "variance", "covariance"))
    np.testing.assert_allclose(terms[vicreg], curves["loss"][vicreg], rtol=1e-5)
    assert np.isnan(curves["term_invariance"][~vicreg]).all()
  assert (d / "atlas_curves.png").stat().st_size > 10_000


def test_report_covers_every_experiment(smoke_results):
  proc = run("experiments.report", f"--out_dir={smoke_results}")
  assert proc.returncode == 0, proc.stderr[-2000:]
  report = (smoke_results / "REPORT.md").read_text()
  for exp in EXPERIMENTS:
    assert f"]({exp}/{exp}.png)" in report
  assert "not run (or incomplete)" not in report and "not judged" in report


def test_bench_writes_both_rates(tmp_path):
  proc = run("experiments.bench", "--epochs=1", "--baseline_epochs=1", "--repeats=1",
             f"--out_dir={tmp_path}")
  assert proc.returncode == 0, proc.stderr[-2000:]
  bench = json.loads((tmp_path / "bench.json").read_text())
  assert bench["repeats"] == 1
  assert bench["grid"]["runs"] == 60 and bench["grid"]["run_steps"] == 60 * 1 * 6
  assert bench["grid"]["run_steps_per_s"] > 0 and bench["per_run_loop"]["run_steps_per_s"] > 0
  assert np.isclose(bench["speedup"], bench["grid"]["run_steps_per_s"] /
                    bench["per_run_loop"]["run_steps_per_s"])
  assert bench["grid"]["vmap_width"] == 4 == bench["floor"]["vmap_width"]  # 60 runs on a CPU
  group = bench["compile_group"]
  assert group["shared"]["run_steps_per_s"] > 0 and group["own"]["run_steps_per_s"] > 0
  assert np.isclose(group["shared_over_own"], group["shared"]["run_steps_per_s"] /
                    group["own"]["run_steps_per_s"])


def test_bench_rows_count_the_programs_calls_and_run_steps_each_experiment_recorded(
    smoke_results):
  """Figure 7's six arms compile three programs (row and column normalisation traced); the
  rows' run-steps are the distinct runs' optimiser steps, as the summary counts them; the total
  counts the grid experiments' programs (not the theorems', which record no split)."""
  from experiments import bench
  rows = {row["experiment"]: row for row in bench.experiment_rows(str(smoke_results))}
  assert set(rows) == set(EXPERIMENTS)
  fig7 = rows["fig7"]
  assert (fig7["arms"], fig7["programs"]) == (6, 3)
  config = json.loads((smoke_results / "fig7" / "config.json").read_text())
  assert sum("shares_program_with" in w for w in config["wall_s"].values()) == 3
  summary = list(csv.DictReader(open(smoke_results / "fig7" / "summary.csv")))
  assert fig7["runs"] <= len(summary) and fig7["calls"] >= fig7["programs"]
  assert fig7["run_steps"] == fig7["runs"] * 4 * 6  # smoke: 4 epochs of 6 batches
  assert "total_s" in rows["thm1"] and 0 <= fig7["compile_share"] <= 1
  total = bench.total_row(list(rows.values()))
  assert total["experiments"] == len(GRIDS) and total["arms"] == sum(
      len(json.loads((smoke_results / e / "config.json").read_text())["arms"]) for e in GRIDS)
  assert total["programs"] <= total["arms"] - 3 - 1  # Figure 7 shares 3, the atlas's criteria 1


FIGURES = ("fig1", "fig2", "fig3", "fig4", "fig5", "fig6", "fig7", "table1")


@pytest.mark.parametrize("exp", FIGURES)
def test_every_panel_of_a_figure_holds_a_line(smoke_results, exp, monkeypatch):
  """Drawn again from the saved curves: every panel has a line with finite points (Figure 6's
  random start once selected no run, and drew twelve empty panels)."""
  module = importlib.import_module(f"experiments.{exp}")
  plot = (functools.partial(warm_start.plot_arms, module.FIGURE) if hasattr(module, "FIGURE")
          else module.plot)
  drawn = []
  monkeypatch.setattr(plotting, "save_figure", lambda fig, path: drawn.append(fig))
  plot(disk.load_curves(str(smoke_results / exp / "curves.npz")), "unused.png")
  (fig,) = drawn
  for ax in fig.axes:
    assert any(np.isfinite(line.get_ydata()).any() for line in ax.get_lines()), \
        f"{exp}: an empty panel ({ax.get_title()})"


def _git_repo(path, files: dict[str, str]):
  """A git repository at path committing files (relative path -> text); returns its git."""
  git = lambda *args: subprocess.run(["git", "-C", str(path), *args], check=True,
                                     capture_output=True)
  for name, text in files.items():
    (path / name).parent.mkdir(parents=True, exist_ok=True)
    (path / name).write_text(text)
  git("init", "-q")
  git("add", ".")
  git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "c")
  return git


def test_provenance_calls_the_code_dirty_not_the_results_written_beside_it(tmp_path, monkeypatch):
  _git_repo(tmp_path, {"ncl_landscape/methods/losses.py": "0\n",
                       "reference/long/summary.csv": "0\n"})
  monkeypatch.setattr(disk, "REPO", str(tmp_path))
  assert disk.code_commit()[0]["dirty"] is False
  (tmp_path / "reference/long/summary.csv").write_text("1\n")
  assert disk.code_commit()[0]["dirty"] is False  # a run writing its reference
  (tmp_path / "ncl_landscape/methods/losses.py").write_text("1\n")
  assert disk.code_commit()[0]["dirty"] is True


@pytest.mark.parametrize("vendored", ["", "third_party/ncl/"])
def test_a_dirty_tree_records_the_diff_that_rebuilds_its_code(tmp_path, monkeypatch, vendored):
  """Applied to a checkout of the recorded commit, code.diff gives the code that ran: edits,
  a deleted file, new untracked files (not ignored ones), also from a copy of the package
  inside another repository."""
  top = tmp_path / "top"
  _git_repo(top, {f"{vendored}{name}": text for name, text in {
      "ncl_landscape/methods/losses.py": "0\n", "ncl_landscape/gone.py": "0\n",
      "experiments/fig1.py": "0\n", "pyproject.toml": "[project]\n",
      ".gitignore": "__pycache__/\n", "README.md": "0\n"}.items()})
  repo = top / vendored
  monkeypatch.setattr(disk, "REPO", str(repo))
  results = tmp_path / "results"
  results.mkdir()
  env = disk.environment(str(results))
  assert env["code"]["dirty"] is False and "diff_sha256" not in env["code"]
  assert not (results / disk.CODE_DIFF).exists()
  (repo / "ncl_landscape/methods/losses.py").write_text("1\n")
  (repo / "ncl_landscape/gone.py").unlink()
  (repo / "experiments/new.py").write_text("new\n")
  (repo / "ncl_landscape/__pycache__").mkdir()
  (repo / "ncl_landscape/__pycache__/losses.pyc").write_bytes(b"\0")
  (repo / "README.md").write_text("1\n")  # not code
  def rebuilt(name):  # the recorded commit with the recorded diff applied
    code = disk.environment(str(results))["code"]
    assert code["dirty"] is True and code["diff_sha256"] == disk.file_digest(
        str(results / disk.CODE_DIFF))
    diff = (results / disk.CODE_DIFF).read_bytes()
    assert b"README" not in diff and b"pycache" not in diff
    root = tmp_path / name
    subprocess.run(["git", "clone", "-q", str(top), str(root)], check=True)
    for args in (("checkout", "-q", code["commit"]), ("apply", str(results / disk.CODE_DIFF))):
      subprocess.run(["git", "-C", str(root), *args], check=True)
    return root / vendored
  def tree(root):
    return {str(p.relative_to(root)): p.read_bytes() for folder in disk.CODE_PATHS
            for p in [root / folder, *(root / folder).rglob("*")]
            if p.is_file() and "__pycache__" not in p.parts}
  assert tree(rebuilt("unstaged")) == tree(repo)
  for name in ("ncl_landscape/methods/losses.py", "experiments/new.py"):
    subprocess.run(["git", "-C", str(top), "add", f"{vendored}{name}"], check=True)
  assert tree(rebuilt("staged")) == tree(repo)
  subprocess.run(["git", "-C", str(top), "-c", "user.name=t", "-c", "user.email=t@t", "commit",
                  "-qam", "d"], check=True)
  assert disk.environment(str(results))["code"]["dirty"] is False
  assert not (results / disk.CODE_DIFF).exists()  # a stale diff is not left beside results


def test_the_source_digest_follows_the_package_files_and_nothing_else(tmp_path, monkeypatch):
  """Recorded with or without git: of the *.py files under ncl_landscape/ and experiments/, their
  paths and contents, as `sha256sum` of the sorted files piped to `sha256sum` gives it."""
  files = {"ncl_landscape/methods/losses.py": "0\n", "ncl_landscape/runs/disk.py": "0\n",
           "experiments/fig1.py": "0\n", "README.md": "0\n", "tests/test_x.py": "0\n"}
  for name, text in files.items():
    (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
    (tmp_path / name).write_text(text)
  monkeypatch.setattr(disk, "REPO", str(tmp_path))
  digest = disk.source_digest()
  lines = "".join(f"{disk.file_digest(str(tmp_path / name))}  {name}\n"
                  for name in sorted(files) if name.endswith(".py") and "tests" not in name)
  assert digest == hashlib.sha256(lines.encode()).hexdigest()
  assert disk.code_commit()[0]["source_sha256"] == digest
  for outside in ("README.md", "tests/test_x.py", "ncl_landscape/notes.txt", "other/losses.py"):
    (tmp_path / outside).parent.mkdir(parents=True, exist_ok=True)
    (tmp_path / outside).write_text("1\n")
    assert disk.source_digest() == digest, outside
  for inside in ("ncl_landscape/methods/losses.py", "experiments/new.py",
                 "ncl_landscape/sub/deep.py"):
    (tmp_path / inside).parent.mkdir(parents=True, exist_ok=True)
    (tmp_path / inside).write_text("1\n")
    assert disk.source_digest() != digest, inside
    digest = disk.source_digest()
  (tmp_path / "experiments/new.py").rename(tmp_path / "experiments/renamed.py")
  assert disk.source_digest() != digest  # a path is part of it


@pytest.mark.parametrize("exp", THEOREMS)
def test_a_theorem_records_its_wall_time(tmp_path, exp):
  """Every theorem binary saves its measured wall time (reference/paper/thm3 predates it)."""
  binary = importlib.import_module(f"experiments.{exp}").main
  binary.parse([exp, "--profile=smoke", f"--out_dir={tmp_path}"])
  binary.body(binary.resolve())
  config = disk.load_json(str(tmp_path / exp / "config.json"))
  assert config["complete"] and config["wall_s"][exp]["total"] > 0
  assert config["environment"]["code"]["source_sha256"] == disk.source_digest()


def test_theorem3_judges_its_runs_against_a_floor_drawn_from_other_batches(smoke_results):
  """The floor's runs (started at W = I) draw batches no tested run sees: a tested run that
  converged ends near the floor, not on it, so 'ends at the noise floor' can fail."""
  rows = list(csv.DictReader(open(smoke_results / "thm3" / "summary.csv")))
  seeds = lambda m: {r["seed"] for r in rows if r["method"] == m}
  floor = seeds(thm3.FLOOR_METHOD)
  tested = [m for m, _, _ in thm3.VARIANTS if m != thm3.FLOOR_METHOD]
  assert floor and not any(floor & seeds(m) for m in tested)
  with np.load(smoke_results / "thm3" / "curves.npz") as curves:
    end = {m: curves["dist"][curves["method"] == m, 0, -1] for m in set(curves["method"])}
  assert not np.isclose(end["srelu_rownorm"], end[thm3.FLOOR_METHOD]).any()


@pytest.mark.parametrize("exp", [e for e in EXPERIMENTS if e not in THEOREMS])
def test_every_grid_binary_trains_the_text_choices_its_flags_give(exp):
  binary = importlib.import_module(f"experiments.{exp}").main
  binary.parse([exp, "--profile=smoke", "--batch_size=384"])
  arms = binary.arms(binary.resolve())
  assert arms and {a.cfg.train.batch_size for a in arms} == {384}

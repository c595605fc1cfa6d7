"""Figures say what they show: subtitles from the experiment's config, Table 1 as a table,
the rescue map's seeds, and runs not 'ok' left out and counted."""
import numpy as np
import pytest
from conftest import run_here

from experiments import common, fig7, table1, warm_start
from ncl_landscape.plots import (paper as plotting, rescue as rescue_plots, subtitles,
                                 table1 as table_plots)
from ncl_landscape.report import rescue
from ncl_landscape.report.claims import TABLE1, TABLE1_MODELS

EPOCHS = np.array([0, 10, 20])


def curves_of(runs: list[dict]) -> dict:
  """Synthetic curves.npz: runs of {method, seed, sparsity, lr, warm_start_c, status, final
  (the last minimum max-cosine), initial}; every statistic ends at its run's final."""
  field = lambda k, d=np.nan: np.array([r.get(k, d) for r in runs], float)
  initial, final = field("initial", 0.3), field("final")
  path = np.stack([initial, (initial + final) / 2, final], 1)
  return {"epochs": EPOCHS, "method": np.array([r["method"] for r in runs]),
          "status": np.array([r.get("status", "ok") for r in runs]), "seed": field("seed", 0),
          "sparsity": field("sparsity"), "mask_prob": field("mask_prob", 0.5),
          "warm_start_c": field("warm_start_c"), "lr": field("lr", 0.005),
          "maxcos_min": path, "maxcos_median": path + 0.05, "maxcos_max": path + 0.1,
          "loss": 1 - path, "caption": np.array("a caption")}


@pytest.fixture
def drawn(monkeypatch):
  """The figures plotting.save_figure was given, instead of their files."""
  figures = []
  monkeypatch.setattr(plotting, "save_figure", lambda fig, path: figures.append(fig))
  return figures


def binary_config(module, *flags) -> dict:
  """The config a binary's figure is drawn with (common.figure_config of its arms)."""
  module.main.parse([module.__name__, *flags])
  s = module.main.resolve()
  return common.figure_config(s, module.main.arms(s))


def test_fig7_subtitle_gives_each_fidelity_its_sizes_and_same_runs_only_where_they_hold(drawn):
  config = binary_config(fig7, "--profile=paper")
  runs = [{"method": v.name, "seed": seed, "sparsity": s, "final": 0.5 + 0.1 * seed,
           "warm_start_c": c, "lr": 0.005}
          for v in fig7.FIGURE.arms for c in v.warm_start_c for s in (0.1, 0.2, 0.3)
          for seed in range(2)]
  warm_start.plot_arms(fig7.FIGURE, curves_of(runs), "unused.png", config)
  (fig,) = drawn
  lines = fig.get_suptitle().replace("\n", " ")
  as_run = lines[lines.index("as run: "):lines.index("as written: ")]
  as_written = lines[lines.index("as written: "):]
  assert "p = d = m = 20" in as_run and "no noise" in as_run
  assert "predictor bias `False` (without b^p)" in as_run
  assert "same runs" not in as_run and "every sparsity its own runs" in as_run
  assert "p = 50, d = 10, m = 50" in as_written and "0.1/0.2: the same runs" in as_written
  assert "lr 0.005 (the text's 0.025)" in lines and "head init `torch_uniform` (as run)" in lines


def test_subtitle_reads_same_runs_per_arm_and_as_one_list_for_every_arm():
  arm = lambda d: {"data": {"p": 50, "d": d, "noise_std": None},
                   "model": {"m": 50, "predictor": "none", "activation": "srelu_code",
                             "bias_init": "uniform"},
                   "train": {"method": "ncl", "alternation": "per_batch", "batch_size": 384}}
  settings = {"profile": "paper", "lr": [0.025], "sparsities": [0.1, 0.2, 0.3]}
  arms = {"narrow": arm(10), "wide": arm(20)}
  per_arm = subtitles.subtitle({"settings": {**settings, "same_runs": {"narrow": [[0.1, 0.2]]}},
                                "arms": arms})
  assert per_arm[-2:] == [
      "narrow: p = 50, d = 10, m = 50, sparsity 0.1/0.2: the same runs, as they draw the same "
      "latents", "wide: p = 50, d = 20, m = 50, sparsity 0.1/0.2/0.3: every sparsity its own runs"]
  assert "batch 384 (the text's 512)" in per_arm[1] and "lr" not in per_arm[1]
  one_list = subtitles.subtitle({"settings": {**settings, "same_runs": [[0.1, 0.2]]},
                                 "arms": arms})
  assert "sparsity 0.1/0.2: the same runs" in one_list[1]  # every arm: on the shared line
  assert not any("every sparsity its own runs" in line for line in one_list)


def test_a_theorem_subtitle_compares_no_learning_rate_with_the_text():
  lines = subtitles.subtitle({"settings": {"profile": "paper", "lr": [0.5], "seeds": 50}})
  assert lines == ["profile paper, 50 seeds, lr 0.5"]


def test_table1_figure_has_the_paper_numbers_and_one_mark_per_ok_seed(drawn):
  config = binary_config(table1, "--profile=paper")
  runs = [{"method": m, "seed": seed, "sparsity": s, "lr": lr, "final": 0.4 + 0.1 * seed,
           "status": "diverged" if (m, s, lr, seed) == ("simplified_simsiam", 0.3, 0.025, 4)
           else "ok"}
          for m in TABLE1_MODELS for s in (0.1, 0.2, 0.3) for lr in (0.005, 0.025)
          for seed in range(5)]
  table1.plot(curves_of(runs), "unused.png", config)
  (fig,) = drawn
  seeds = {line.get_gid(): line.get_xydata() for ax in fig.axes for line in ax.get_lines()
           if line.get_gid()}
  assert len(seeds) == 3 * len(TABLE1_MODELS) * 3 * 2  # statistic x model x sparsity x lr
  for model in TABLE1_MODELS:
    for key, _ in table_plots.STATISTICS:
      for s in (0.1, 0.2, 0.3):
        for lr in (0.005, 0.025):
          ok = 4 if (model, s, lr) == ("simplified_simsiam", 0.3, 0.025) else 5
          assert len(seeds[table_plots.seeds_gid(model, key, s, lr)]) == ok
  minimum = fig.axes[2]
  texts = [t.get_text() for t in minimum.texts]
  for s, paper in TABLE1["simplified_simclr"].items():
    mean, std = paper[2]
    assert f"{mean:.2f}\n±{std:.2f}" in texts
  assert "1 diverged" in " ".join(t.get_text() for t in fig.axes[3].texts)
  assert [t.get_text() for t in minimum.get_xticklabels()] == [
      "0.1", "0.2\n(the runs of 0.1)", "0.3"]
  assert all(np.isfinite(line.get_ydata()).any() for ax in fig.axes for line in ax.get_lines()
             if len(line.get_ydata()))


def rescue_curves(cells) -> dict:
  """cells: (mechanism, c, [(final, status), ...]) at m = 10, sparsity 0.1."""
  return curves_of([{"method": rescue.arm_name(m, 10), "seed": seed, "sparsity": 0.1,
                     "warm_start_c": c, "initial": 0.2 + c / 4, "final": final,
                     "status": status}
                    for m, c, seeds in cells for seed, (final, status) in enumerate(seeds)])


def test_rescue_legend_lists_exactly_the_fractions_present_and_cells_show_seeds(tmp_path,
                                                                                monkeypatch):
  cells = [("ncl", 0.0, [(0.3, "ok"), (0.4, "ok")]),
           ("ncl", 1.0, [(0.7996, "ok"), (0.81, "ok")]),  # 0.7996 is not shown as 0.80
           ("ncl", 2.0, [(0.7, "ok"), (0.95, "ok")]),  # mean 0.825 >= 0.8, yet 1 of 2
           ("byol", 0.0, [(0.2, "ok"), (0.9, "unbounded")]),
           ("byol", 2.0, [(0.5, "collapsed"), (0.9, "diverged")])]
  figures = []
  monkeypatch.setattr(rescue_plots.plt, "close", figures.append)
  rescue_plots.plot_map(rescue_curves(cells), str(tmp_path / "rescue.png"), ("ncl", "byol"),
                        rescue.RECOVERED_AT)
  (fig,) = figures
  labels = [t.get_text() for t in fig.legends[0].get_texts()]
  assert labels[:-1] == ["0 of 1 / 0 of 2 seeds", "1 of 2 seeds", "no ok seed"]
  texts = [t.get_text() for t in fig.axes[0].texts]
  assert "0.70 -> 0.70, 0.95\n1 of 2" in texts and "0.45 -> 0.7996, 0.81\n1 of 2" in texts
  assert "0.20 -> 0.20\n0 of 1, 1 not ok" in texts and "2 not ok" in texts
  title = fig.get_suptitle().replace("\n", " ")
  assert "left out (status not ok): 1 collapsed, 1 diverged, 1 unbounded" in title


def test_runs_not_ok_are_left_out_of_lines_and_counted_by_status(drawn):
  runs = [{"method": "ncl", "seed": k, "sparsity": 0.1, "final": f, "status": st}
          for k, (f, st) in enumerate([(0.4, "ok"), (0.6, "ok"), (0.9, "collapsed"),
                                       (0.0, "unbounded")])]
  plotting.plot_rows(curves_of(runs), "unused.png", [("NCL", {"method": "ncl"}, "sparsity")],
                     "a figure")
  (fig,) = drawn
  minimum = fig.axes[0]
  assert minimum.get_lines()[0].get_ydata()[-1] == pytest.approx(0.5)
  assert "(1 collapsed, 1 unbounded: left out)" in minimum.get_legend().get_texts()[0].get_text()
  assert "left out (status not ok): 1 collapsed, 1 unbounded" in fig.get_suptitle()


def test_a_theorem_with_its_figure_deleted_only_redraws_it(tmp_path):
  run = lambda: run_here("thm2", "--profile=smoke", f"--out_dir={tmp_path}")
  run()
  d = tmp_path / "thm2"
  before = {f.name: f.read_bytes() for f in d.iterdir() if f.suffix != ".png"}
  (d / "thm2.png").unlink()
  assert "its figure redrawn" in run()
  assert (d / "thm2.png").stat().st_size > 10_000
  assert {f.name: f.read_bytes() for f in d.iterdir() if f.suffix != ".png"} == before

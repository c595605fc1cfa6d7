"""What the experiment binaries share: their mains (flags in cli.py), configs, grids and
the run with its interrupt handling."""
from __future__ import annotations

import functools
import logging as py_logging
import os
import socket
import sys
import time
from typing import NamedTuple

import jax
import numpy as np
from absl import logging

from experiments import cli
from experiments.cli import Binary, exit_with
from ncl_landscape.config import DataConfig, RunConfig, TrainConfig
from ncl_landscape.plots import paper as plotting
from ncl_landscape.runs import disk
from ncl_landscape.runs.directory import ExistingResult, claim_directory, save_results
from ncl_landscape.runs.store import config_digest
from ncl_landscape.training.experiment import Arm, Execution, run_experiment, same_runs_by_arm
from ncl_landscape.training.hyper import Hyper
from ncl_landscape.training.sweep import Grid, make_grid

# Quiet by default: the backends JAX probes and does not find are no news to the reader.
py_logging.getLogger("jax._src.xla_bridge").setLevel(py_logging.ERROR)


class Profile(NamedTuple):
  """How much of an experiment a profile trains.

  The seeds, the epochs, how often curves are logged, and the learning rate (a one-value axis unless
  the experiment sets its own).
  """
  seeds: int
  epochs: int
  log_every: int
  lr: float


SMOKE = Profile(seeds=2, epochs=4, log_every=1, lr=0.025)  # every binary end to end, seconds
PAPER = Profile(seeds=5, epochs=8000, log_every=80, lr=0.005)  # the paper's scale (the scripts)
# Every profile by the kind of experiment: 'contrastive' trains a contrastive arm (its
# 1024 x 1024 similarity per step is the costly part on a CPU), 'ncl' only NCL models,
# 'survey' many methods from several starts (atlas, rescue): its quick profile is a first look
# (one seed, 100 epochs, so that `make figures` stays within 25 minutes on 2 CPU cores), its
# 'long' profile the quick grid at 2 seeds trained 2000 epochs (reference/long: does a quick
# verdict hold with training length, and do the seeds agree?).
# Each experiment's docstring gives its command; REPORT.md its expected result.
RUNS = {
    "contrastive": {"smoke": SMOKE, "quick": Profile(seeds=3, epochs=400, log_every=10, lr=0.025),
                    "paper": PAPER},
    "ncl": {"smoke": SMOKE, "quick": Profile(seeds=3, epochs=2000, log_every=50, lr=0.025),
            "paper": PAPER},
    "survey": {"smoke": Profile(seeds=1, epochs=2, log_every=1, lr=0.025),
               "quick": Profile(seeds=1, epochs=100, log_every=10, lr=0.025),
               "long": Profile(seeds=2, epochs=2000, log_every=50, lr=0.025), "paper": PAPER},
}


def profiles(kind: str, shared: dict, **own: dict) -> dict:
  """Every profile's settings of one experiment.

  Args:
    kind: the kind of experiment, a key of RUNS: 'contrastive', 'ncl' or 'survey'.
    shared: the experiment's settings at every profile.
    **own: profile -> the experiment's settings at that profile only.

  Returns:
    profile -> settings: RUNS[kind]'s (lr as a one-value axis), then shared, then own[profile], each
    over the one before.
  """
  def runs(name):
    p = RUNS[kind][name]
    return dict(seeds=p.seeds, epochs=p.epochs, log_every=p.log_every, lr=(p.lr,))
  return {name: {**runs(name), **shared, **own.get(name, {})} for name in RUNS[kind]}


# The learning rates of a figure that no published script ran: the scripts' 0.005 and the
# text's 0.025 (the authors' command line, not their configs, set lr), judged apart in REPORT.
UNSCRIPTED_LRS = (0.005, 0.025)


def base_config(s: dict, **sections) -> RunConfig:
  """A sparse-coding RunConfig of the settings' latents, epochs and logging, then sections replaced.

  The latents default to 'fixed_count'; then cfg.replace(**sections).
  """
  cfg = RunConfig(data=DataConfig(latent=s.get("latent") or "fixed_count"),
                  train=TrainConfig(epochs=s["epochs"], log_every=s["log_every"]))
  return cfg.replace(**sections)


def sparsity_grid(s: dict, mask_probs: tuple[float, ...] | None = None, **swept) -> Grid:
  """The grid seeds x sparsities x mask probabilities x learning rates x any further swept scalar.

  Args:
    s: resolved settings: base_seed, seeds, sparsities, mask_probs, lr.
    mask_probs: the mask probabilities; None: the settings'.
    **swept: a Hyper field -> its values.

  Returns:
    Grid.
  """
  return make_grid(s["base_seed"], s["seeds"], Hyper(), sparsity=s["sparsities"],
                   mask_prob=mask_probs or s["mask_probs"], **swept, lr=s["lr"])


DEPENDENT_MASK_PROB = 0.5  # the authors' dependent masks: D ~ Bernoulli(0.5), whatever the grid


def cl_mask_probs(s: dict) -> tuple[float, ...]:
  """A CL arm's mask probabilities: only 0.5 for the as-run dependent masks, else the settings'.

  The grid's mask probability never reached CL in the authors' code.
  """
  return (DEPENDENT_MASK_PROB,) if s["cl_masks"] == "dependent" else s["mask_probs"]


def cl_mask(s: dict) -> str:
  """TrainConfig.mask of a CL arm for --cl_masks."""
  return "independent" if s["cl_masks"] == "independent" else "dependent"


def plot_by_sparsity(curves: dict, path: str, methods: list[tuple[str, str]], title: str,
                     config: dict | None = None) -> None:
  """Draws a figure of a row per method (and per warm-start c when several), lines per sparsity.

  At the figures' mask probability 0.5, or the first swept one where 0.5 was not trained.

  Args:
    curves: {name: [runs] or [runs, points]} as curves.npz holds them.
    path: the PNG's path.
    methods: (method, row title) per method.
    title: the figure's title; the mask probability is appended.
    config: the subtitle's (figure_config).
  """
  mask_probs = np.unique(curves["mask_prob"])
  mask_prob = 0.5 if np.isclose(mask_probs, 0.5).any() else float(mask_probs[0])
  rows = []
  for method, name in methods:
    select = {"method": method, "mask_prob": mask_prob}
    cs = np.unique(curves["warm_start_c"][plotting.select_runs(curves, select)])
    cs = cs[~np.isnan(cs)]
    if len(cs) > 1:
      rows += [(f"{name} (c = {c:g})", dict(select, warm_start_c=c), "sparsity") for c in cs]
    else:
      rows.append((name, select, "sparsity"))
  plotting.plot_rows(curves, path, rows, title=f"{title} (mask prob {mask_prob:g})",
                     config=config)


def text_choices(s: dict, cfg: RunConfig) -> RunConfig:
  """cfg with the choices of the paper's text that the grid flags gave (cli.GRID).

  Activation, bias init, noise, alternation, the last partial batch, the batch size, and a
  predictor's bias (on a model with a predictor).
  """
  model, data, train = {}, {}, {}
  for name, section in (("activation", model), ("bias_init", model), ("alternation", train)):
    if s.get(name) is not None:
      section[name] = s[name]
  if s.get("noise_std") is not None:
    data["noise_std"] = s["noise_std"]
  if s.get("batch_size") is not None:
    train["batch_size"] = s["batch_size"]
  if s.get("partial_batch") in ("keep", "drop"):
    train["drop_last"] = s["partial_batch"] == "drop"
  if s.get("predictor_bias") is not None and cfg.model.predictor != "none":
    model["predictor"] = "linear_bias" if s["predictor_bias"] else "linear"
  return cfg.replace(model=model, data=data, train=train)


def start_distributed(join: dict) -> None:
  """Joins the processes of a --distributed run, before JAX starts its backend.

  jax.distributed.initialize with the coordinator of the flags (or JAX_COORDINATOR_ADDRESS, or the
  cluster JAX detects), gloo collectives on CPUs, joining and heartbeats bounded by
  --distributed_timeout. Failing to join exits 2 with one line.

  Args:
    join: the values of the DISTRIBUTED flags.
  """
  jax.config.update("jax_cpu_collectives_implementation", "gloo")
  timeout, address = join["distributed_timeout"], join["coordinator_address"]
  if address and join["process_id"] and not reachable(address, timeout):
    # JAX's client aborts the process (a page of C++ stack) when it cannot reach it
    exit_with(cli.FlagError(f"--coordinator_address: nothing answers at {address} within "
                            f"{timeout} s (--distributed_timeout)"))
  try:
    jax.distributed.initialize(join["coordinator_address"], join["num_processes"],
                               join["process_id"], initialization_timeout=timeout,
                               heartbeat_timeout_seconds=timeout)
  except Exception as e:  # noqa: BLE001 - JAX raises several kinds; all end the run here
    reason = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
    exit_with(cli.FlagError(
        f"--distributed: could not join {join['coordinator_address'] or 'the coordinator'} "
        f"within {timeout} s (--distributed_timeout): {reason}"))


def reachable(address: str, timeout: float) -> bool:
  """Whether a TCP connection to host:port opens within timeout seconds (retried)."""
  host, port = address.rsplit(":", 1)
  deadline = time.monotonic() + timeout
  while True:
    try:
      socket.create_connection((host.strip("[]"), int(port)), timeout=1).close()
      return True
    except OSError:
      if time.monotonic() >= deadline:
        return False
      time.sleep(0.2)


def figure_config(s: dict, arms: list[Arm]) -> dict:
  """What a figure's subtitle reads, as config.json records it.

  The figure is drawn before config.json is written: the settings, with each arm's sparsities that
  draw the same latents, and the arms' configs.
  """
  return {"settings": {**s, "same_runs": same_runs_by_arm(arms)},
          "arms": {arm.name: arm.cfg.to_dict() for arm in arms}}


def run(experiment: str, make_arms, s: dict, plot) -> list[dict]:
  """Trains a grid experiment (run_experiment) and draws its figure; returns the summary rows.

  The processes of a --distributed run join first (JAX must not start its backend before). An
  existing result of another configuration exits 2; an interrupt exits 130, and a lost process of a
  --distributed run exits 1, both saying how to resume.

  Args:
    experiment: the experiment's id, its directory's name.
    make_arms: settings -> the arms.
    s: resolved settings, with the output directory and the execution flags; force, the DISTRIBUTED
      flags and segment_epochs are left out of the settings config.json records.
    plot: plot(curves, path, config=figure_config(...)) draws the figure.
  """
  s = dict(s)  # how a run is executed or stored changes no result, so it is not a setting
  force = s.pop("force", False)
  join = {k: s.pop(k) for k in cli.DISTRIBUTED}
  if join["distributed"]:
    start_distributed(join)
  arms = make_arms(s)
  execution = Execution(s["max_runs_per_call"], s["vmap_width"], s.pop("segment_epochs"))
  plot = functools.partial(plot, config=figure_config(s, arms))
  try:
    return run_experiment(experiment, arms, s["out_dir"], {"settings": s}, plot=plot,
                          execution=execution, force=force)
  except ExistingResult as e:
    exit_with(e)
  except KeyboardInterrupt as e:
    print(f"interrupted: {experiment} ({str(e) or 'while no arm was training'}); finished "
          f"chunks and segments are saved in {s['out_dir']}/{experiment}; rerun the same "
          "command to resume", file=sys.stderr)
    sys.exit(130)
  except RuntimeError as e:  # JAX's runtime error: a collective lost a process
    if not join["distributed"]:
      raise
    print(f"error: a process of the --distributed run failed ({str(e).splitlines()[0]}); "
          f"finished chunks and segments are saved in {s['out_dir']}/{experiment}; rerun every "
          "process to resume", file=sys.stderr, flush=True)
    os._exit(1)  # JAX's shutdown barrier would wait for the lost process, then abort


def experiment_main(experiment: str, profiles: dict, uses: tuple[str, ...], make_arms,
                    plot, plot_settings: tuple[str, ...] = ()) -> Binary:
  """The binary of a grid experiment: settings from flags, its arms, one run, the files saved.

  Args:
    experiment: the experiment's id.
    profiles: profile -> settings (profiles).
    uses: the optional flags it takes (cli.OPTIONAL).
    make_arms: settings -> the arms; Binary.arms adds the text's choices the flags gave
      (text_choices).
    plot: plot(curves, path, config=..., **plot settings) draws the figure.
    plot_settings: the settings passed to plot by name.

  Returns:
    Binary.
  """
  def arms(s):
    return [arm._replace(cfg=text_choices(s, arm.cfg)) for arm in make_arms(s)]
  def body(s):
    run(experiment, arms, s, functools.partial(plot, **{k: s[k] for k in plot_settings}))
  return Binary(profiles, uses, body, arms=arms)


def theorem_main(experiment: str, profiles: dict, run_theorem, plot) -> Binary:
  """The binary of a theorem: settings from flags, run_theorem, the files saved.

  After the same overwrite check as a grid experiment, the result of run_theorem is saved into
  out_dir/<experiment> with the figure and the wall time ('total': compile and run together, as the
  theorems' jitted maps mix them). A complete result of the configuration whose figure is missing
  has it redrawn.

  Args:
    experiment: the experiment's id.
    profiles: profile -> settings.
    run_theorem: settings -> (summary rows, curves, theory.csv rows).
    plot: plot(curves, path, config={'settings': ...}) draws the figure.

  Returns:
    Binary, without the grid flags.
  """
  def body(s):
    s = dict(s)
    force = s.pop("force", False)
    directory = os.path.join(s["out_dir"], experiment)
    try:
      done = claim_directory(directory, config_digest({"settings": s}), force, s)
    except ExistingResult as e:
      exit_with(e)
    draw = functools.partial(plot, config={"settings": s})
    png = os.path.join(directory, f"{experiment}.png")
    if done and os.path.exists(png):
      logging.info("%s: complete for this configuration, skipped", experiment)
      return
    if done:
      draw(disk.load_curves(os.path.join(directory, "curves.npz")), png)
      logging.info("%s: complete for this configuration; its figure redrawn", experiment)
      return
    start = time.perf_counter()
    rows, curves, table = run_theorem(s)
    wall = {experiment: {"total": time.perf_counter() - start}}
    save_results(directory, experiment, {"settings": s, "hash": config_digest({"settings": s}),
                                         "wall_s": wall}, rows, curves, draw,
                 {"theory.csv": table})
  return Binary(profiles, (), body, grid=False)

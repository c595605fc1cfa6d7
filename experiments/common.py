"""Flags shared by the experiment binaries, profile resolution and input checks.

All flags are defined here, once, so binaries and tests can import any number of
experiment modules. Values arrive as strings and are checked here, before any
compute: a bad value exits with one line naming the flag and its allowed range.
"""
from __future__ import annotations

import logging as py_logging
import os
import sys

import jax
import numpy as np
from absl import flags, logging

from ncl_landscape import plotting
from ncl_landscape.config import (DataConfig, Hyper, RunConfig, TrainConfig, check_hyper_values,
                                  methods)
from ncl_landscape.experiment import (Arm, Execution, ExistingResult, claim_directory,
                                      run_experiment)
from ncl_landscape.store import digest
from ncl_landscape.sweep import Grid, make_grid

# Quiet by default: the backends JAX probes and does not find are no news to the reader.
py_logging.getLogger("jax._src.xla_bridge").setLevel(py_logging.ERROR)

PROFILES = ("smoke", "quick", "paper")
FIDELITIES = ("as_run", "as_written")  # a figure's model as the authors' scripts ran it / as
                                       # the paper's text describes it

flags.DEFINE_string("profile", "quick", "smoke (seconds), quick (a 2-core CPU) or paper.")
flags.DEFINE_string("out_dir", "results", "Results directory; the experiment writes out_dir/<id>/.")
flags.DEFINE_string("seeds", None, "Number of seeds (positive integer); overrides the profile.")
flags.DEFINE_string("epochs", None, "Training epochs (positive integer); overrides the profile.")
flags.DEFINE_string("log_every", None, "Epochs between logged curve points; overrides the profile.")
flags.DEFINE_string("sparsities", None, "Comma-separated sparsities in (0, 1].")
flags.DEFINE_string("mask_probs", None, "Comma-separated mask probabilities in [0, 1).")
flags.DEFINE_string("warm_start_c", None,
                    "Comma-separated warm-start exponents c > 0 (noise std p^(-c/2)).")
flags.DEFINE_string("lr", None, "SGD learning rate > 0; overrides the profile.")
flags.DEFINE_string("base_seed", "0", "Root PRNG seed (integer >= 0).")
flags.DEFINE_bool("force", False,
                  "Replace a complete result of another configuration in out_dir/<id> (without "
                  "it such a result is kept and the run refused).")
flags.DEFINE_bool("distributed", False,
                  "Call jax.distributed.initialize() first (multi-host; out_dir must be shared).")
flags.DEFINE_string("max_runs_per_call", None,
                    "Cut each grid into compiled calls of at most this many runs (integer >= 1).")
flags.DEFINE_string("segment_epochs", None,
                    "Epochs per segment (integer >= 1): a progress line and a saved, resumable "
                    "state after each. Default: about a tenth of the run, at least 5 s each.")
flags.DEFINE_string("vmap_width", None,
                    "Vmap exactly this many runs at a time (integer >= 1): results then are "
                    "bit-identical across chunkings and device counts.")
flags.DEFINE_string("latent", None, "fixed_count (authors' code) or bernoulli (paper text).")
flags.DEFINE_string("cl_masks", "dependent",
                    "CL augmentation: dependent (as the authors ran Figures 1-2 and Table 1: "
                    "a1 = 2Dx, a2 = 2(I-D)x with D ~ Bernoulli(0.5) whatever --mask_probs), "
                    "dependent_swept (the same with keep probability 1 - mask prob) or "
                    "independent (the paper's Eq. 3).")
flags.DEFINE_string("batch_norm", "code",
                    "code: BN where the authors' models had it (Figures 1-2: CL only; Figures "
                    "4, 7 (as written): none); caption: as the figure's text says (Figure 1: "
                    "none; Figures 2, 4: BN on every encoder).")
flags.DEFINE_string("one_hot_sign", "code",
                    "Figure 1 latent signs: code (NCL one sign per data set, CL always +1) or "
                    "per_sample (the paper's text).")
flags.DEFINE_string("head_init", "torch_uniform",
                    "Init of the predictor and projector heads: torch_uniform (weight and bias "
                    "U(+-1/sqrt(m)), as the authors' code) or gaussian (weight N(0, 1/(p d))).")
flags.DEFINE_string("variants", None,
                    "Figure 7: comma-separated as_run (the scripts' predictor model, p = d = m = "
                    "20) and/or as_written (the text: no predictor, c = 2); default both.")

flags.DEFINE_string("methods", None, "Atlas: comma-separated method names (default: all).")
flags.DEFINE_string("mechanisms", None,
                    "Rescue map: comma-separated mechanisms (default: all of the binary's).")
flags.DEFINE_string("widths", None,
                    "Rescue map: comma-separated encoder widths m (integers >= 1).")
flags.DEFINE_string("recovered_at", None,
                    "Rescue map: the final minimum max-cosine in (0, 1] that counts as "
                    "recovered (default 0.8).")

FLAGS = flags.FLAGS


class FlagError(ValueError):
  """A flag value outside its domain; the message names the flag and the range."""


def _int_flag(name: str, value: str, minimum: int) -> int:
  try:
    parsed = int(value)
  except ValueError:
    raise FlagError(f"--{name} must be an integer >= {minimum}; got {value!r}") from None
  if parsed < minimum:
    raise FlagError(f"--{name} must be an integer >= {minimum}; got {parsed}")
  return parsed


def _float_list_flag(name: str, value: str, hyper_name: str) -> tuple[float, ...]:
  try:
    parsed = tuple(float(v) for v in value.split(",") if v.strip())
  except ValueError:
    raise FlagError(f"--{name} must be a comma-separated list of numbers; got {value!r}") from None
  if not parsed:
    raise FlagError(f"--{name} must list at least one value")
  try:
    check_hyper_values(hyper_name, parsed)
  except ValueError as e:
    raise FlagError(f"--{name}: {e}") from None
  return parsed


def _choice_flag(name: str, value: str, allowed: tuple[str, ...]) -> str:
  if value not in allowed:
    raise FlagError(f"--{name} must be one of {', '.join(allowed)}; got {value!r}")
  return value


def _list_flag(name: str, value: str | None, default: tuple[str, ...],
               allowed: tuple[str, ...]) -> tuple[str, ...]:
  """A comma-separated list of allowed names (default when the flag is not given)."""
  if value is None:
    return default
  chosen = tuple(_choice_flag(name, v.strip(), allowed) for v in value.split(",") if v.strip())
  if not chosen:
    raise FlagError(f"--{name} must list at least one of {', '.join(allowed)}")
  return chosen


def _widths_flag(value: str) -> tuple[int, ...]:
  widths = tuple(_int_flag("widths", v.strip(), 1) for v in value.split(",") if v.strip())
  if not widths:
    raise FlagError("--widths must list at least one integer >= 1")
  return widths


def _fraction_flag(value: str) -> float:
  try:
    parsed = float(value)
  except ValueError:
    parsed = float("nan")
  if not 0 < parsed <= 1:
    raise FlagError(f"--recovered_at must be a number in (0, 1]; got {value!r}")
  return parsed


def _methods_flag(value: str | None) -> tuple[str, ...]:
  """--methods: a comma-separated list of known method names (default: every method)."""
  return _list_flag("methods", value, methods(), methods())


def resolve_settings(profiles: dict, uses: tuple[str, ...] = ()) -> dict:
  """The profile's settings overridden by the flags given; raises FlagError on bad input.

  profiles: profile name -> settings dict (seeds, epochs, log_every, lr, and the
  experiment's own keys such as sparsities or mask_probs). uses: the optional flags
  this experiment reads (e.g. 'cl_masks').
  """
  profile = _choice_flag("profile", FLAGS.profile, PROFILES)
  settings = dict(profiles[profile], profile=profile, out_dir=FLAGS.out_dir)
  for name in ("seeds", "epochs", "log_every"):
    if getattr(FLAGS, name) is not None:
      if name not in settings:
        raise FlagError(f"--{name} does not apply to this experiment")
      settings[name] = _int_flag(name, getattr(FLAGS, name), 1)
  settings["base_seed"] = _int_flag("base_seed", FLAGS.base_seed, 0)
  for name in ("max_runs_per_call", "vmap_width", "segment_epochs"):
    value = getattr(FLAGS, name)
    settings[name] = None if value is None else _int_flag(name, value, 1)
  if "log_every" in settings:
    settings["log_every"] = min(settings["log_every"], settings["epochs"])
  if FLAGS.lr is not None:
    settings["lr"] = _float_list_flag("lr", FLAGS.lr, "lr")[0]
  lists = {"sparsities": "sparsity", "mask_probs": "mask_prob", "warm_start_c": "warm_start_c"}
  choices = {"latent": ("fixed_count", "bernoulli"),
             "cl_masks": ("dependent", "dependent_swept", "independent"),
             "batch_norm": ("code", "caption"), "one_hot_sign": ("code", "per_sample"),
             "head_init": ("torch_uniform", "gaussian")}
  for name in list(lists) + list(choices):
    if FLAGS[name].present and name not in settings and name not in uses:
      raise FlagError(f"--{name} does not apply to this experiment")
  for name, hyper_name in lists.items():
    if FLAGS[name].present:
      settings[name] = _float_list_flag(name, getattr(FLAGS, name), hyper_name)
  settings["warm_start_c_given"] = FLAGS["warm_start_c"].present
  if "methods" in uses:
    settings["methods"] = _methods_flag(FLAGS.methods)
  elif FLAGS.methods is not None:
    raise FlagError("--methods does not apply to this experiment")
  if "variants" in uses:
    settings["variants"] = _list_flag("variants", FLAGS.variants, FIDELITIES, FIDELITIES)
  elif FLAGS.variants is not None:
    raise FlagError("--variants does not apply to this experiment")
  known = tuple(dict.fromkeys(m for p in profiles.values() for m in p.get("mechanisms", ())))
  for name, parse in (("mechanisms", lambda v: _list_flag("mechanisms", v, known, known)),
                      ("widths", _widths_flag), ("recovered_at", _fraction_flag)):
    if name in uses:
      settings[name] = settings[name] if getattr(FLAGS, name) is None else parse(
          getattr(FLAGS, name))
    elif getattr(FLAGS, name) is not None:
      raise FlagError(f"--{name} does not apply to this experiment")
  for name in (u for u in uses if u in choices):
    value = getattr(FLAGS, name)
    settings[name] = (settings.get(name) if value is None
                      else _choice_flag(name, value, choices[name]))
  settings["options"] = {name: FLAGS[name].value for name in RESULT_FLAGS if FLAGS[name].present}
  return settings


# Flags that change what is computed (the others say where and how it runs).
RESULT_FLAGS = ("seeds", "epochs", "log_every", "lr", "base_seed", "sparsities", "mask_probs",
                "warm_start_c", "latent", "cl_masks", "batch_norm", "one_hot_sign", "head_init",
                "variants", "methods", "mechanisms", "widths", "recovered_at")


def settings_or_exit(profiles: dict, uses: tuple[str, ...] = ()) -> dict:
  """resolve_settings, or one line on stderr and exit status 2."""
  try:
    return resolve_settings(profiles, uses)
  except FlagError as e:
    exit_with(e)


def exit_with(error: Exception) -> None:
  """One line on stderr, exit status 2."""
  print(f"error: {error}", file=sys.stderr)
  sys.exit(2)


def base_config(s: dict, **sections) -> RunConfig:
  """Sparse-coding run with the settings' latents, epochs and logging, then
  cfg.replace(**sections)."""
  cfg = RunConfig(data=DataConfig(latent=s.get("latent") or "fixed_count"),
                  train=TrainConfig(epochs=s["epochs"], log_every=s["log_every"]))
  return cfg.replace(**sections)


def sparsity_grid(s: dict, mask_probs: tuple[float, ...] | None = None, **swept) -> Grid:
  """seeds x sparsities x mask probabilities (the settings', unless given) x any further
  swept scalar."""
  return make_grid(s["base_seed"], s["seeds"], Hyper(lr=s["lr"]), sparsity=s["sparsities"],
                   mask_prob=mask_probs or s["mask_probs"], **swept)


DEPENDENT_MASK_PROB = 0.5  # the authors' dependent masks: D ~ Bernoulli(0.5), whatever the grid


def cl_mask_probs(s: dict) -> tuple[float, ...]:
  """The mask probabilities a CL arm trains: only 0.5 for the as-run dependent masks (the grid's
  mask probability never reached CL in the authors' code), else the settings'."""
  return (DEPENDENT_MASK_PROB,) if s["cl_masks"] == "dependent" else s["mask_probs"]


def cl_mask(s: dict) -> str:
  """TrainConfig.mask of a CL arm for --cl_masks."""
  return "independent" if s["cl_masks"] == "independent" else "dependent"


def plot_by_sparsity(curves: dict, path: str, methods: list[tuple[str, str]], title: str) -> None:
  """One row per method (and per warm-start c when several), lines per sparsity, at the
  figures' mask probability 0.5 (or the first swept one)."""
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
  plotting.plot_rows(curves, path, rows, title=f"{title} (mask prob {mask_prob:g})")


def run(experiment: str, arms: list[Arm], s: dict, plot) -> list[dict]:
  """run_experiment with the settings' output directory and execution flags."""
  if FLAGS.distributed:
    jax.distributed.initialize()
  s = dict(s)  # how long a segment is changes no result, so it is not a setting
  execution = Execution(s["max_runs_per_call"], s["vmap_width"], s.pop("segment_epochs"))
  try:
    return run_experiment(experiment, arms, s["out_dir"], {"settings": s}, plot=plot,
                          execution=execution, force=FLAGS.force)
  except ExistingResult as e:
    exit_with(e)
  except KeyboardInterrupt:
    print(f"interrupted: finished chunks and segments are saved in {s['out_dir']}/{experiment}; "
          "rerun the same command to resume", file=sys.stderr)
    sys.exit(130)


def experiment_main(experiment: str, profiles: dict, uses: tuple[str, ...], make_arms, plot):
  """The absl main of a grid experiment: settings from flags, arms, one run, files saved."""
  def main(argv):
    del argv
    s = settings_or_exit(profiles, uses)
    run(experiment, make_arms(s), s, plot)
  main.resolve = lambda: resolve_settings(profiles, uses)  # the settings from parsed flags
  return main


def theorem_main(experiment: str, profiles: dict, run_theorem):
  """The absl main of a theorem binary: run_theorem(settings) writes its own files into
  out_dir/<experiment>, after the same overwrite check as a grid experiment."""
  def main(argv):
    del argv
    s = settings_or_exit(profiles)
    try:
      done = claim_directory(os.path.join(s["out_dir"], experiment), digest({"settings": s}),
                             FLAGS.force)
    except ExistingResult as e:
      exit_with(e)
    if done:
      logging.info("%s: complete for this configuration, skipped", experiment)
    else:
      run_theorem(s)
  main.resolve = lambda: resolve_settings(profiles)
  return main

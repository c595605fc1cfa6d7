"""What ran, in words: the line a figure's subtitle and a REPORT section carry.

Both read an experiment's resolved settings (config.json's "settings"): the profile, the
sizes of the grid, the options given on the command line, and for every choice between
the authors' code and the paper's text which of the two ran.
"""
from __future__ import annotations

FIDELITY = {  # setting -> value -> which reading it is ("as run": the authors' scripts)
    "latent": {"fixed_count": "as run", "bernoulli": "as written"},
    "cl_masks": {"dependent": "as run: D ~ Bernoulli(0.5)",
                 "dependent_swept": "keep prob 1 - mask prob", "independent": "as written"},
    "batch_norm": {"code": "as run", "caption": "as written"},
    "one_hot_sign": {"code": "as run", "per_sample": "as written"},
    "head_init": {"torch_uniform": "as run", "gaussian": "as written"},
    "activation": {"srelu_code": "as run", "srelu_paper": "as written: Eq. 14"},
    "bias_init": {"uniform": "as run", "zero": "as written"},
    "alternation": {"per_batch": "as run", "pair": "an online then a target step per batch"},
    "partial_batch": {"as_run": "as run", "keep": "kept by every model",
                      "drop": "dropped by every model"},
    "predictor_bias": {True: "with b^p", False: "without b^p"},
    "encoder": {"linear": "the paper's", "mlp": "two layers, max-cosine of the first"},
}
NAMES = {"latent": "latents", "cl_masks": "CL masks", "batch_norm": "BN",
         "one_hot_sign": "one-hot signs", "head_init": "head init", "activation": "activation",
         "bias_init": "encoder bias init", "alternation": "alternation",
         "partial_batch": "last partial batch", "predictor_bias": "predictor bias",
         "encoder": "encoder"}


def _values(v) -> str:
  return "/".join(f"{x:g}" if isinstance(x, float) else str(x) for x in v) \
      if isinstance(v, (list, tuple)) else f"{v}"


def run_caption(settings: dict) -> str:
  """e.g. 'profile quick, 3 seeds, 2000 epochs, lr 0.025, sparsity 0.1/0.2/0.3 (0.1/0.2:
  the same runs, as they draw the same latents), mask prob 0.5, c 1; options
  --cl_masks=independent'. A theorem whose --epochs counts other steps names them
  (settings' 'epochs_count', e.g. 'gradient steps')."""
  parts = [f"profile {settings.get('profile')}"]
  for key, name in (("seeds", "seeds"), ("epochs", settings.get("epochs_count", "epochs")),
                    ("lr", "lr"),
                    ("sparsities", "sparsity"), ("mask_probs", "mask prob"),
                    ("warm_start_c", "c"), ("widths", "m")):
    value = settings.get(key)
    if value is not None:
      parts.append(f"{value} {name[:-1] if value == 1 else name}" if key in ("seeds", "epochs")
                   else f"{name} {_values(value)}")
      if key == "sparsities":
        parts[-1] += _same_runs_note(settings)
  caption = ", ".join(parts)
  options = settings.get("options") or {}
  if options:
    caption += "; options " + " ".join(f"--{k}={v}" for k, v in options.items())
  return caption


def same_runs(settings: dict) -> dict[str | None, list[tuple]]:
  """Arm -> its groups of sparsities that draw the same latents (settings' same_runs: per
  arm, or one list for every arm, keyed None)."""
  same = settings.get("same_runs") or {}
  if isinstance(same, dict):
    return {arm: [tuple(g) for g in groups] for arm, groups in same.items()}
  return {None: [tuple(g) for g in same]}


def same_runs_of(settings: dict, arm: str) -> list[tuple]:
  """The arm's groups of sparsities that draw the same latents (same_runs)."""
  same = same_runs(settings)
  return same.get(arm, same.get(None, []))


def _same_runs_note(settings: dict) -> str:
  """' (0.1/0.2: the same runs, as they draw the same latents)', naming the arms where only
  some arms' latents coincide (same_runs per arm)."""
  by_group: dict[tuple, list[str | None]] = {}
  for arm, groups in same_runs(settings).items():
    for group in groups:
      by_group.setdefault(tuple(group), []).append(arm)
  return "".join(f" ({_values(list(group))}: the same runs"
                 + (f" in {', '.join(arms)}" if all(arms) else "")
                 + ", as they draw the same latents)" for group, arms in by_group.items())


def fidelity_line(settings: dict) -> str:
  """Which reading ran for every choice the experiment has, e.g. 'latents fixed_count (as
  run), CL masks dependent (as run: D ~ Bernoulli(0.5))'; '' for none."""
  parts = [f"{NAMES[k]} `{settings[k]}` ({FIDELITY[k][settings[k]]})" for k in FIDELITY
           if settings.get(k) in FIDELITY[k]]
  if settings.get("fidelities"):
    parts.append("fidelities " + ", ".join(settings["fidelities"]))
  return ", ".join(parts)

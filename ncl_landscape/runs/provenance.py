"""What ran, in words: the line a figure's subtitle and a REPORT section carry.

Both read an experiment's resolved settings (config.json's "settings"): the profile, the
sizes of the grid, the options given on the command line, and for every choice between
the authors' code and the paper's text which of the two ran (fidelity.py's words).
"""
from __future__ import annotations

from ncl_landscape.fidelity import CHOICES, reading


def init_label(c: float) -> str:
  """A start's label: 'random' for warm_start_c 0 (the random start), else 'warm c = <c>'."""
  return "random" if c == 0 else f"warm c = {c:g}"


def _values(v) -> str:
  return "/".join(f"{x:g}" if isinstance(x, float) else str(x) for x in v) \
      if isinstance(v, (list, tuple)) else f"{v}"


def run_caption(settings: dict) -> str:
  """Returns what ran, in words: the profile, the grid's sizes and values, the options given.

  e.g. 'profile quick, 3 seeds, 2000 epochs, lr 0.025, sparsity 0.1/0.2/0.3 (0.1/0.2: the
  same runs, as they draw the same latents), mask prob 0.5, c 1; options
  --cl_masks=independent'. A theorem whose --epochs counts other steps names them (settings'
  'epochs_count', e.g. 'gradient steps').

  Args:
    settings: the experiment's resolved settings (config.json's "settings").
  """
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
  """Arm -> its groups of sparsities that draw the same latents (settings' same_runs).

  settings' same_runs is per arm, or one list for every arm, returned keyed None.
  """
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
  """Which reading ran for every choice the experiment has; '' for none.

  e.g. 'latents fixed_count (as run), CL masks dependent (as run: D ~ Bernoulli(0.5))',
  then settings' 'fidelities' if any.
  """
  parts = [reading(k, settings[k]) for k, choice in CHOICES.items()
           if settings.get(k) in choice.words]
  if settings.get("fidelities"):
    parts.append("fidelities " + ", ".join(settings["fidelities"]))
  return ", ".join(parts)

"""A figure's subtitle: what ran, and every choice in which it differs from the paper's text.

Read from the experiment's config as config.json records it ({"settings": ..., "arms":
{arm: RunConfig dict}}), in provenance.py's words: the run (run_caption), the learning rate
and batch where they are not the text's, the reading of every choice (fidelity_line, the
arms' configs filling the settings left at their default), and per family of arms what
sets them apart: sizes (p, d, m), noise, the predictor's form, and which sparsities are
the same runs (settings' same_runs, per arm or one list for every arm).
"""
from __future__ import annotations

from ncl_landscape.fidelity import AS_RUN
from ncl_landscape.runs import provenance

WRITTEN = {"p": 50, "d": 10, "m": 50, "batch_size": 512, "lr": 0.025}  # the paper's text
SAME = "the same runs, as they draw the same latents"


def _values(values) -> str:
  return "/".join(f"{v:g}" for v in values)


def _uniform(values) -> object:
  """The one value of values, else None."""
  values = set(values)
  return values.pop() if len(values) == 1 else None


def sizes_text(sizes: dict) -> str:
  """{'p': 20, 'd': 20, 'm': 20} -> 'p = d = m = 20'; else 'p = 50, d = 10, m = 50'."""
  if len(set(sizes.values())) == 1 and len(sizes) > 1:
    return " = ".join(sizes) + f" = {next(iter(sizes.values()))}"
  return ", ".join(f"{k} = {v}" for k, v in sizes.items())


def readings(settings: dict, arms: dict) -> dict:
  """Returns the settings, their choices left at the default (None) read from the arms.

  The choices: activation, encoder bias init and NCL's alternation, each where the arms (the
  NCL arms) agree; and the last partial batch, AS_RUN wherever there are arms.
  """
  out = dict(settings)
  found = {"activation": _uniform(a["model"]["activation"] for a in arms.values()),
           "bias_init": _uniform(a["model"]["bias_init"] for a in arms.values()),
           "alternation": _uniform(a["train"]["alternation"] for a in arms.values()
                                   if a["train"]["method"] == "ncl"),
           "partial_batch": AS_RUN if arms else None}
  for key, value in found.items():
    if out.get(key) is None and value is not None:
      out[key] = value
  return out


def differences(settings: dict, arms: dict) -> str:
  """What a grid experiment (its arms) ran that is not the text's; '' for a theorem.

  e.g. 'lr 0.005 (the text's 0.025), batch 384 (the text's 512)'. A theorem has its own
  setting.
  """
  if not arms:
    return ""
  parts = []
  lrs = [lr for lr in settings.get("lr") or () if lr != WRITTEN["lr"]]
  if lrs:
    parts.append(f"lr {_values(lrs)} (the text's {WRITTEN['lr']:g})")
  batch = _uniform(a["train"]["batch_size"] for a in arms.values())
  if batch is not None and batch != WRITTEN["batch_size"]:
    parts.append(f"batch {batch} (the text's {WRITTEN['batch_size']})")
  return ", ".join(parts)


def arm_sizes(arm: dict, settings: dict) -> dict:
  """The arm's p, d and m (m left to the run's widths where it sweeps them)."""
  sizes = {"p": arm["data"]["p"], "d": arm["data"]["d"]}
  if "widths" not in settings:
    sizes["m"] = arm["model"]["m"]
  return sizes


def arm_items(name: str, arm: dict, settings: dict, show_sizes: bool) -> tuple[str, ...]:
  """What one arm's config records beyond the settings.

  Its sizes (when show_sizes), noise, predictor form, and its sparsities' runs.
  """
  items = [sizes_text(arm_sizes(arm, settings))] if show_sizes else []
  noise = arm["data"]["noise_std"]
  if noise is not None:
    items.append("no noise" if noise == 0 else f"noise s0 = {noise:g}")
  if arm["model"]["predictor"] != "none" and settings.get("predictor_bias") is None:
    items.append(provenance.fidelity_line(
        {"predictor_bias": arm["model"]["predictor"] == "linear_bias"}))
  same = provenance.same_runs(settings)
  groups = provenance.same_runs_of(settings, name)
  if groups:
    items += [f"sparsity {_values(g)}: {SAME}" for g in groups]
  elif any(same.values()) and len(settings.get("sparsities") or ()) > 1:
    items.append(f"sparsity {_values(settings['sparsities'])}: every sparsity its own runs")
  return tuple(items)


def subtitle(config: dict, families: dict | None = None) -> list[str]:
  """Returns the subtitle's lines: the run, its choices, and a line per family of arms.

  The choices' line holds the items every arm shares; a family's line, the items of its arms
  that differ ('as run: p = d = m = 20, ...').

  Args:
    config: the experiment's config as config.json records it.
    families: arm -> its family's name (default: the arm's own).
  """
  settings, arms = config.get("settings", {}), config.get("arms", {})
  run = {k: v for k, v in settings.items() if k != "same_runs"}
  sizes = [arm_sizes(a, settings) for a in arms.values()]
  show_sizes = any(s != sizes[0] or any(v != WRITTEN[k] for k, v in s.items()) for s in sizes)
  grouped: dict[tuple, list[str]] = {}
  for name, arm in arms.items():
    label = (families or {}).get(name, name)
    members = grouped.setdefault(arm_items(name, arm, settings, show_sizes), [])
    if label not in members:
      members.append(label)
  shared = [i for i in next(iter(grouped), ()) if all(i in items for items in grouped)]
  choices = [differences(settings, arms), provenance.fidelity_line(readings(run, arms)),
             *shared]
  lines = [provenance.run_caption(run), ", ".join(c for c in choices if c)]
  for items, labels in grouped.items():
    own = [i for i in items if i not in shared]
    if own:
      lines.append(f"{', '.join(labels)}: {', '.join(own)}")
  return [line for line in lines if line]

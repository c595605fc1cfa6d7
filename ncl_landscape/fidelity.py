"""The paper's text or the authors' code: every choice where the two differ, named once.

A Choice is a setting the binaries take as a flag (--latent=bernoulli) and config.json records
under "settings": its values, the one the authors' scripts ran ("as run") and the one the
paper's text states ("as written"), and the words REPORT and the figures' subtitles use for
each value. The flags (experiments/cli.py), the provenance lines (runs/provenance.py) and the
configs' checks (config.py) all read them here. docs/fidelity.md tells the story of each.
"""
from __future__ import annotations

from typing import NamedTuple

AS_RUN, AS_WRITTEN = "as_run", "as_written"  # a figure's model: the scripts' or the text's
FIDELITIES = (AS_RUN, AS_WRITTEN)


class Choice(NamedTuple):
  """One setting where the paper's text and the authors' code part ways.

  Attributes:
    setting: the flag's and the saved setting's name.
    noun: how REPORT names the setting.
    words: value -> how REPORT reads it ('as run', 'as written' or what it is).
    help: the flag's help.
  """
  setting: str
  noun: str
  words: dict
  help: str

  @property
  def values(self) -> tuple:
    """The setting's values, in the order of `words`."""
    return tuple(self.words)


CHOICES = {c.setting: c for c in (
    Choice("latent", "latents", {"fixed_count": "as run", "bernoulli": "as written"},
           "fixed_count (authors' code) or bernoulli (paper text)."),
    Choice("cl_masks", "CL masks",
           {"dependent": "as run: D ~ Bernoulli(0.5)", "dependent_swept": "keep prob 1 - mask prob",
            "independent": "as written"},
           "CL augmentation: dependent (as the authors ran Figures 1-2 and Table 1: a1 = 2Dx, "
           "a2 = 2(I-D)x with D ~ Bernoulli(0.5) whatever --mask_probs), dependent_swept (keep "
           "probability 1 - mask prob) or independent (Eq. 3)."),
    Choice("batch_norm", "BN", {"code": "as run", "caption": "as written"},
           "code: BN where the authors' models had it; caption: as the figure's text says."),
    Choice("one_hot_sign", "one-hot signs", {"code": "as run", "per_sample": "as written"},
           "Figure 1 latent signs: code (NCL one sign per data set, CL always +1) or "
           "per_sample (the text)."),
    Choice("head_init", "head init", {"torch_uniform": "as run", "gaussian": "as written"},
           "Predictor and projector init: torch_uniform (as the authors' code) or gaussian "
           "(weight N(0, 1/(p d)))."),
    Choice("activation", "activation",
           {"srelu_code": "as run", "srelu_paper": "as written: Eq. 14"},
           "Encoder activation: srelu_code (as run: relu(u) - relu(2b - u) on u = BN(Wa + b)) "
           "or srelu_paper (Eq. 14). Default: as run."),
    Choice("bias_init", "encoder bias init", {"uniform": "as run", "zero": "as written"},
           "Encoder bias init: uniform (as run: U(+-1/sqrt(p))) or zero (the text). Default: "
           "as run."),
    Choice("alternation", "alternation",
           {"per_batch": "as run", "pair": "an online then a target step per batch"},
           "Online/target alternation: per_batch (as run: the side flips every batch) or pair "
           "(an online then a target step per batch)."),
    Choice("partial_batch", "last partial batch",
           {AS_RUN: "as run", "keep": "kept by every model", "drop": "dropped by every model"},
           "The last partial batch: as_run (NCL keeps it with per-sample weights, CL drops it), "
           "keep or drop (every model)."),
    Choice("predictor_bias", "predictor bias", {True: "with b^p", False: "without b^p"},
           "A predictor's bias b^p: as each figure ran it when not given (Figures 5-6 with, "
           "Figure 7 without); --predictor_bias / --nopredictor_bias for every predictor."),
    Choice("encoder", "encoder", {"linear": "the paper's",
                                  "mlp": "two layers, max-cosine of the first"},
           "linear (the paper's one-layer encoder) or mlp (two layers of width m, the code's "
           "symmetric activation; max-cosine of the first)."),
)}


def reading(setting: str, value) -> str:
  """How REPORT reads one setting's value, e.g. 'latents `fixed_count` (as run)'.

  Args:
    setting: a key of CHOICES.
    value: one of that Choice's values.

  Returns:
    The setting's noun, the value and its words.
  """
  choice = CHOICES[setting]
  return f"{choice.noun} `{value}` ({choice.words[value]})"

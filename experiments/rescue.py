"""The rescue map (beyond the paper): from how far a start does each mechanism still recover
the dictionary, and do width or sparsity move that border?

  python -m experiments.rescue --profile=quick
  python -m experiments.rescue --mechanisms=ncl_pred,ncl_rownorm --widths=10,50

Rows are mechanisms (NCL as run; with a predictor; with row or column normalisation;
BYOL-EMA, DirectPred, DirectCopy; Simplified-SimSiam; CL as run; VICReg; Barlow Twins);
each trains, per encoder width m (static), one grid of seeds x sparsities x starts, the
start a traced scalar: c = 0 is the random start, c > 0 the authors' warm start (atoms
plus N(0, p^-c) noise; its initial minimum max-cosine is near 1 / sqrt(1 + p^(1-c)),
measured per run). The fixed-count latents of the authors' code, mask probability 0.5.
A run is recovered when its final minimum max-cosine reaches --recovered_at; the border
of a (mechanism, width, sparsity) is the farthest start from which more than half the
seeds are recovered, with every closer start rescued too (ncl_landscape/report/rescue.py).
Writes rescue.png (the map, one panel per sparsity and width) and rescue_scatter.png
(final against initial minimum max-cosine per mechanism; above the diagonal = improved).
"""
from __future__ import annotations

from experiments import common
from experiments.registry import Experiment
from ncl_landscape.plots import rescue as rescue_plots
from ncl_landscape.report import claims
from ncl_landscape.report.rescue import RECOVERED_AT, arm_name
from ncl_landscape.training.experiment import Arm

# mechanism -> its configuration on top of the NCL base (as run: no BN, independent masks)
MECHANISMS = {
    "ncl": {},
    "ncl_pred": dict(model=dict(predictor="linear_bias", batch_norm=True, normalize_repr=True)),
    "ncl_rownorm": dict(train=dict(weight_norm="row")),
    "ncl_colnorm": dict(train=dict(weight_norm="column")),
    "byol": dict(train=dict(method="byol")),
    "directpred": dict(train=dict(method="directpred")),
    "directcopy": dict(train=dict(method="directcopy")),
    "simsiam": dict(model=dict(batch_norm=True), train=dict(method="simsiam")),
    "cl": dict(model=dict(batch_norm=True),
               train=dict(method="cl", mask="dependent", drop_last=True)),
    "vicreg": dict(train=dict(method="vicreg")),
    "barlow_twins": dict(train=dict(method="barlow_twins")),
}
PROFILES = common.profiles(
    "survey", dict(latent="fixed_count", mask_probs=(0.5,), sparsities=(0.1, 0.3),
                   widths=(10, 20, 50, 100), mechanisms=tuple(MECHANISMS),
                   recovered_at=RECOVERED_AT),
    smoke=dict(sparsities=(0.1,), widths=(10,), warm_start_c=(1.0,),
               mechanisms=("ncl_pred", "byol", "cl")),
    quick=dict(widths=(10, 50), warm_start_c=(0.5, 1.0, 1.5, 2.0)),
    long=dict(widths=(10, 50), warm_start_c=(0.5, 1.0, 1.5, 2.0)),
    paper=dict(warm_start_c=(0.4, 0.6, 0.8, 1.0, 1.25, 1.5, 2.0)))
USES = ("mechanisms", "widths", "recovered_at")


def make_arms(s: dict) -> list[Arm]:
  """The rescue map's arms: one per (width, mechanism), each over seeds x sparsities x starts.

  Each mechanism's configuration (MECHANISMS) on the NCL base with independent masks unless it sets
  its own, the start traced (init 'swept', c = 0 the random start).
  """
  grid = common.sparsity_grid(s, warm_start_c=(0.0,) + tuple(s["warm_start_c"]))
  arms = []
  for width in s["widths"]:
    for mechanism in s["mechanisms"]:
      sections = {k: dict(v) for k, v in MECHANISMS[mechanism].items()}
      sections["model"] = dict(sections.get("model", {}), m=width, init="swept")
      sections["train"] = {"method": "ncl", "mask": "independent", **sections.get("train", {})}
      arms.append(Arm(arm_name(mechanism, width), common.base_config(s, **sections), grid))
  return arms


main = common.experiment_main("rescue", PROFILES, USES, make_arms, rescue_plots.plot_rescue,
                              plot_settings=("recovered_at",))

CLAIM = claims.Claim("Rescue map: from how far a start each mechanism recovers (beyond the "
                     "paper)",
                     "not tested: the paper's positive results are single points (a predictor "
                     "from c = 1, row normalisation from c = 2, nothing from a random start).",
                     claims.rescue_map,
                     "Every mechanism on the authors' data (fixed-count latents, mask probability "
                     "0.5); NCL, its normalised variants and the dimension-contrastive criteria "
                     "without BN, the predictor NCL, Simplified-SimSiam and CL with BN, CL with "
                     "the dependent masks it ran with. The start is measured per run: at m > d "
                     "the warm start draws atoms with replacement, so an atom can be missed.",
                     claims.rescue_beside)
EXPERIMENT = Experiment("rescue", "survey", CLAIM)


if __name__ == "__main__":
  main.run()

"""Table 1: Simplified-SimCLR vs Simplified-SimSiam, max / median / min max-cosine.

  python -m experiments.table1 --profile=quick

Every model: linear encoder, BN and the symmetric activation after it, random init; heads
(projectors, predictor) Linear(m, m) with bias, PyTorch's default init U(+-1/sqrt(m))
(--head_init=gaussian: the text's Gaussian). Simplified-SimCLR adds a linear projector
and trains NT-Xent (temperature 0.05, masks per --cl_masks, as Figure 2's CL).
Simplified-SimSiam as the authors' model: projector (BN + activation) and predictor,
symmetric negative cosine with stop-gradient, independent masks; and as the text
describes it, "encoder + predictor" without the projector (simplified_simsiam_enc_pred).
No script of the authors made the table: BN on every model follows the text.
"""
from __future__ import annotations

from experiments import common
from experiments.registry import Experiment
from ncl_landscape.plots import table1 as table_plots
from ncl_landscape.report import claims
from ncl_landscape.report.sensitivity import (AS_RUN, BATCH_384, BERNOULLI, GAUSSIAN_HEADS,
                                              INDEPENDENT_MASKS, LONGER, TEMPERATURE, TEXT_LR, Scan)
from ncl_landscape.training.experiment import Arm

PROFILES = common.profiles(
    "contrastive", dict(sparsities=(0.1, 0.2, 0.3), latent="fixed_count", cl_masks="dependent",
                        head_init="torch_uniform", mask_probs=(0.5,)),
    smoke=dict(sparsities=(0.1,)), paper=dict(lr=common.UNSCRIPTED_LRS))
USES = ("latent", "cl_masks", "head_init")
METHODS = [("simplified_simclr", "Simplified-SimCLR"),
           ("simplified_simsiam", "Simplified-SimSiam (encoder, projector, predictor)"),
           ("simplified_simsiam_enc_pred", "Simplified-SimSiam (encoder + predictor, the text)")]


def make_arms(s: dict) -> list[Arm]:
  """Table 1's arms: Simplified-SimCLR and the two readings of Simplified-SimSiam."""
  model = dict(batch_norm=True, head_init=s["head_init"])
  simclr = common.base_config(s, model=model,
                              train=dict(method="simclr", mask=common.cl_mask(s), drop_last=True))
  simsiam = common.base_config(s, model=model, train=dict(method="simsiam", mask="independent"))
  enc_pred = simsiam.replace(model=dict(simsiam_projector=False))
  grid = common.sparsity_grid(s)
  return [Arm("simplified_simclr", simclr, common.sparsity_grid(s, common.cl_mask_probs(s))),
          Arm("simplified_simsiam", simsiam, grid),
          Arm("simplified_simsiam_enc_pred", enc_pred, grid)]


def plot(curves, path, config=None):
  """Draws Table 1 as a figure: the paper's numbers beside ours."""
  table_plots.plot_table1(curves, path, dict(METHODS), "Table 1: Simplified-SimCLR vs -SimSiam",
                          config)


main = common.experiment_main("table1", PROFILES, USES, make_arms, plot)

CLAIM = claims.Claim("Table 1: Simplified-SimCLR vs Simplified-SimSiam",
                     "Simplified-SimCLR's minimum max-cosine lies above Simplified-SimSiam's at "
                     "every sparsity, and SimSiam does not recover the support (5 runs; the "
                     "paper's own SimCLR minimum is 0.57 at sparsity 0.3).",
                     claims.table1)
SCAN = Scan(
    "SimCLR above simplified_simsiam", {"lr": "0.005", "sparsities": "0.3"},
    "the scripts' learning rate at sparsity 0.3, the cell where the paper's own SimCLR is "
    "weakest and SimCLR's lead is the claim; there the lead fails in far more seeds than it "
    "holds (the reference's verdict above counts them), so more seeds are not scanned",
    (AS_RUN, LONGER, TEXT_LR, BATCH_384, TEMPERATURE, BERNOULLI, INDEPENDENT_MASKS,
     GAUSSIAN_HEADS))
EXPERIMENT = Experiment("table1", "table", CLAIM, SCAN)


if __name__ == "__main__":
  main.run()

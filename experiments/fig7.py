"""Figure 7: NCL from a warm start with W^o and W^t row- (or column-) normalised after every
step: recovery rises (~0.62 -> ~0.85). Two models, both run by default (--fidelities):

  python -m experiments.fig7 --profile=quick
  python -m experiments.fig7 --fidelities=as_written

as_run: what the scripts behind the figure ran (their two configurations are missing, so
  the sizes are inferred from their sibling configuration): the predictor model, a linear
  predictor WITHOUT bias (trained, PyTorch's default init), full rank p = d = m = 20, no
  BN, no noise, c in (1, 1.25, 1.5, 2) as one traced grid, row or column normalisation of
  W^o and W^t after every step; two dictionaries as the scripts had them: M = I with
  unnormalised outputs (loss 2 - 2 <W^p h_o, SG h_t>), and a random orthogonal M with
  normalised outputs.
as_written: the text: no predictor, c = 2, p = 50, d = 10, m = 50, normalised outputs.
"""
from experiments.warm_start import FigureArm, WarmStartFigure, main_for, profiles

AS_RUN_C = (1.0, 1.25, 1.5, 2.0)
FULL_RANK = 20


def _as_run(norm: str, dictionary: str) -> FigureArm:
  identity = dictionary == "identity"
  sections = {
      "data": {"p": FULL_RANK, "d": FULL_RANK, "dictionary": dictionary, "noise_std": 0.0},
      "model": {"m": FULL_RANK, "predictor": "linear", "batch_norm": False,
                "normalize_repr": not identity},
      "train": {"weight_norm": norm, "ncl_form": "inner" if identity else "cosine"}}
  label = (f"as run: {norm}-normalised W, predictor, "
           + ("M = I, unnormalised" if identity else "random M, normalised"))
  short = {"row": "rownorm", "column": "colnorm"}[norm]
  return FigureArm(f"ncl_warm_pred_{short}_{'identity' if identity else 'random'}", label,
                 sections, "as_run", AS_RUN_C)


_NORMALISED = {"model": {"normalize_repr": True}}
FIGURE = WarmStartFigure(
    "fig7", "Figure 7: NCL, warm start + weight normalisation",
    (*(_as_run(norm, dictionary) for norm in ("row", "column")
       for dictionary in ("identity", "orthonormal")),
     FigureArm("ncl_warm_rownorm", "as written: row-normalised W, no predictor",
             dict(_NORMALISED, train={"weight_norm": "row"}), "as_written", (2.0,)),
     FigureArm("ncl_warm_colnorm", "as written: column-normalised W, no predictor",
             dict(_NORMALISED, train={"weight_norm": "column"}), "as_written", (2.0,))),
    warm=True)
_PROFILES = profiles(c=None, seeds_paper=3, heads=True, scripted=True)
# quick: two sparsities, so that the 6 arms (4 of them x 4 c) fit a few CPU minutes
PROFILES = {**_PROFILES, "quick": dict(_PROFILES["quick"], sparsities=(0.1, 0.3))}
main = main_for(FIGURE, PROFILES)

if __name__ == "__main__":
  main.run()

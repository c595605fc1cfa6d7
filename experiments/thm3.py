"""Theorem 3 made executable: dual SReLU network (Eq. 15), M = I, warm start, fixed biases,
alternating optimisation with row normalisation converges to W^o = W^t = I.

  python -m experiments.thm3 --profile=quick

Beside it: the same run with a warm-start error ten times larger (outside Assumption 2)
and the same run without row normalisation.
"""
from __future__ import annotations

import os

import jax
import numpy as np
from absl import app

from experiments import common
from ncl_landscape import theory
from ncl_landscape.experiment import save_results
from ncl_landscape.plotting import plt, save_figure
from ncl_landscape.metrics import max_cosine

PROFILES = {
    "smoke": dict(d=6, seeds=2, epochs=4, inner=10, batch=512),
    "quick": dict(d=10, seeds=3, epochs=30, inner=20, batch=2048),
    "paper": dict(d=10, seeds=5, epochs=60, inner=50, batch=4096),
}
BIAS, KAPPA, ALPHA, LR = 0.5, 0.3, 0.5, 0.5
TOLERANCE = 0.05  # ||W - I||_F counted as converged
VARIANTS = (  # method, warm-start error bound as a multiple of 1/(10 d), row normalisation
    ("srelu_rownorm", 1.0, True),
    ("srelu_rownorm_10x_error", 10.0, True),
    ("srelu_no_norm", 1.0, False),
)


def run(s: dict) -> None:
  d = s["d"]
  noise = 0.0  # Assumption 3 (noise below the warm-start error) holds for s0 = 0
  rows, dist, table = [], [], []
  for method, scale, row_norm in VARIANTS:
    delta = scale / (10 * d)
    keys = jax.vmap(lambda i: jax.random.fold_in(jax.random.key(s["base_seed"]), i))(
        np.arange(s["seeds"]))
    out = jax.vmap(lambda k: theory.srelu_dynamics(
        k, d=d, delta=delta, bias=BIAS, kappa=KAPPA, alpha=ALPHA, noise=noise, lr=LR,
        inner=s["inner"], outer=s["epochs"], batch=s["batch"], row_norm=row_norm))(keys)
    for r in range(s["seeds"]):
      mc = max_cosine(out.Wo[r], np.eye(d))
      final = float(out.dist_o[r, -1])
      rows.append({"experiment": "thm3", "method": method, "seed": r, "epochs": s["epochs"],
                   "maxcos_max": float(mc.max), "maxcos_median": float(mc.median),
                   "maxcos_min": float(mc.min), "final_loss": final,
                   "status": "ok" if np.isfinite(final) else "diverged", "lr": LR,
                   "dist_target": float(out.dist_t[r, -1])})
    dist.append(np.stack([out.dist_o, out.dist_t], axis=1))  # [seeds, 2, rounds]
    finals = np.asarray(out.dist_o[:, -1])
    table.append({"quantity": f"{method}: ||W^o - I||_F after {s['epochs']} rounds (mean)",
                  "predicted": 0.0 if method == "srelu_rownorm" else "no guarantee",
                  "measured": float(finals.mean()),
                  "converged_runs": float(np.mean(finals < TOLERANCE))})
  arrays = {"dist": np.concatenate(dist), "epochs": np.arange(1, s["epochs"] + 1),
            "method": np.array([r["method"] for r in rows]),
            "status": np.array([r["status"] for r in rows])}
  save_results(os.path.join(s["out_dir"], "thm3"), "thm3", {"settings": s}, rows, arrays, plot,
               {"theory.csv": table})


def plot(curves, path):
  fig, axes = plt.subplots(1, len(VARIANTS), figsize=(5 * len(VARIANTS), 3.8), squeeze=False)
  for ax, (method, scale, row_norm) in zip(axes[0], VARIANTS):
    sel = curves["method"] == method
    for side, name in ((0, "||W^o - I||"), (1, "||W^t - I||")):
      ax.semilogy(curves["epochs"], curves["dist"][sel, side].T, color=f"C{side}", alpha=0.6)
      ax.plot([], [], color=f"C{side}", label=name)
    ax.set_title(f"{method}\nwarm-start error < {scale:g}/(10d), "
                 f"{'row-normalised' if row_norm else 'no normalisation'}", fontsize=9)
    ax.set_xlabel("alternation round")
    ax.legend()
  save_figure(fig, path)


main = common.theorem_main(PROFILES, run)


if __name__ == "__main__":
  app.run(main)

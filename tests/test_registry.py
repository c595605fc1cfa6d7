"""One place per concept: the method registry, the encoder interface, the package's imports."""
import ast
import os

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from ncl_landscape.config import DataConfig, ModelConfig, RunConfig, TrainConfig
from ncl_landscape.methods import registry
from ncl_landscape.report import claims
from ncl_landscape.runs import disk, results
from ncl_landscape.runs.directory import load_run
from ncl_landscape.testbed.encoders import make_encoder
from ncl_landscape.testbed.metrics import max_cosine
from ncl_landscape.testbed.networks import BatchNorm, Encoder, encode
from ncl_landscape.training.experiment import Arm, run_experiment
from ncl_landscape.training.hyper import Hyper
from ncl_landscape.training.sweep import make_grid, run_grid

PACKAGE = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                       "ncl_landscape")
SMALL = RunConfig(data=DataConfig(n=300, p=20, d=5), model=ModelConfig(m=12),
                  train=TrainConfig(batch_size=64, epochs=4, log_every=2))


def _modules() -> dict[str, str]:
  """Every module of the package by dotted name relative to it ('training.train'; a
  package's __init__ by the package's name, the top one as '')."""
  found = {}
  for root, _, files in os.walk(PACKAGE):
    for f in files:
      if f.endswith(".py"):
        parts = os.path.relpath(os.path.join(root, f[:-3]), PACKAGE).split(os.sep)
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found[name if name != "." else ""] = os.path.join(root, f)
  return found


def _package_imports(path: str, modules) -> tuple[set[str], list[str]]:
  """(package modules imported at module level outside `if TYPE_CHECKING`, package imports
  made anywhere else, e.g. inside a function)."""
  tree = ast.parse(open(path).read())
  top, hidden = set(), []

  def names(node):
    if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "ncl_landscape":
      base = node.module.partition(".")[2]
      # `from pkg import module` names a module; `from module import name` the module itself
      return [f"{base}.{a.name}".lstrip(".") if f"{base}.{a.name}".lstrip(".") in modules
              else base for a in node.names]
    if isinstance(node, ast.Import):
      return [a.name.partition(".")[2] for a in node.names if a.name.startswith("ncl_landscape.")]
    return []

  type_checking = {id(n) for stmt in tree.body if isinstance(stmt, ast.If)
                   and getattr(stmt.test, "id", None) == "TYPE_CHECKING" for n in ast.walk(stmt)}
  for stmt in tree.body:
    top.update(names(stmt))
  for node in ast.walk(tree):
    if names(node) and node not in tree.body and id(node) not in type_checking:
      hidden.append(f"line {node.lineno}")
  return top, hidden


def test_the_package_imports_form_no_cycle_and_none_hides_in_a_function():
  modules = _modules()
  graph = {}
  for name, path in modules.items():
    graph[name], hidden = _package_imports(path, modules)
    assert not hidden, f"{path} imports the package lazily at {hidden}"
  assert graph["config"] == set(), "config.py is a leaf: names are checked where resolved"
  assert {"training.sweep", "methods.registry", "report.writer"} <= set(graph)
  below_plots = [(m, d) for m, deps in graph.items() if m.startswith(("report.", "runs.", "training."))
                 for d in deps if d.startswith("plots.")]
  assert not below_plots, f"the report, the runs and training never draw: {below_plots}"
  state = {}

  def visit(node, trail):
    if state.get(node) == "open":
      raise AssertionError("import cycle: " + " -> ".join(trail + [node]))
    if state.get(node) != "done":
      state[node] = "open"
      for dep in graph.get(node, ()):
        visit(dep, trail + [node])
      state[node] = "done"

  for node in graph:
    if node:  # the package's face imports every module it re-exports
      visit(node, [])


def _toy(z1, z2, weights, hyper):
  """A toy alignment-uniformity loss that reads the temperature."""
  align = jnp.sum(weights * jnp.sum(jnp.square(z1 - z2), axis=1)) / jnp.sum(weights)
  spread = jnp.log(jnp.mean(jnp.exp(-jnp.square(z1 @ z1.T) / hyper.temperature)))
  return align + spread, {"align": align, "spread": spread}


@pytest.fixture
def toy_method(monkeypatch):
  monkeypatch.setattr(registry, "METHODS", dict(registry.METHODS))
  registry.register("toy", registry.criterion_method(_toy, "toy-family", reads=("temperature",),
                                                   group=None))
  return "toy"


def test_a_criterion_registered_at_run_time_trains_saves_and_reports(toy_method, tmp_path):
  cfg = SMALL.replace(model=dict(init="swept"), train=dict(method=toy_method))
  grid = make_grid(0, 2, Hyper(lr=0.05, temperature=0.5), sparsity=(0.2,),
                   warm_start_c=(0.0, 1.0))
  rows = run_experiment("toy_atlas", [Arm("toy", cfg, grid)], str(tmp_path), {})
  directory = tmp_path / "toy_atlas"
  assert [r["method"] for r in rows] == ["toy"] * 4
  assert all(float(r["temperature"]) == 0.5 for r in rows)  # it reads the temperature
  curves = disk.load_curves(str(directory / "curves.npz"))
  assert {"term_align", "term_spread"} <= set(curves)
  run = load_run(str(directory), 3)
  assert np.isclose(max_cosine(jnp.asarray(run["online/W"]), jnp.asarray(run["M"])).min,
                    float(rows[3]["maxcos_min"]), atol=1e-5)
  res = results.Results(disk.load_summary(str(directory / "summary.csv")), curves, [])
  _, lines = claims.atlas(res)
  assert any(line.startswith("| toy |") for line in lines)
  assert any(line.startswith("| toy-family |") for line in lines)
  with pytest.raises(ValueError, match="already registered"):
    registry.register("toy", registry.criterion_method(_toy, "toy-family"))
  with pytest.raises(ValueError, match="method must be one of"):
    registry.make_method(SMALL.replace(train=dict(method="toy2")))


def test_a_group_member_must_build_as_its_group(monkeypatch):
  monkeypatch.setattr(registry, "METHODS", dict(registry.METHODS))
  rogue = registry.METHODS["ncl"]._replace(group="criteria")
  with pytest.raises(ValueError, match="must build as its group"):
    registry.register("rogue", rogue)


MLP = SMALL.replace(model=dict(encoder="mlp", depth=2, init="swept"),
                    train=dict(method="vicreg"))


def test_the_mlp_encoder_trains_in_a_grid_and_its_max_cosine_reads_its_first_layer():
  grid = make_grid(0, 2, Hyper(lr=0.05), sparsity=(0.2,), warm_start_c=(0.0, 3.0))
  out = run_grid(MLP, grid)
  assert out.curves["maxcos_min"].shape == (4, 3) and np.isfinite(out.curves["loss"]).all()
  W0 = out.params["online"]["W0"]
  assert W0.shape == (4, 12, 20) and out.params["online"]["W1"].shape == (4, 12, 12)
  for r in range(4):  # the final max-cosine is the first layer's
    mc = max_cosine(jnp.asarray(W0[r]), jnp.asarray(out.M[r]))
    np.testing.assert_allclose(out.final["maxcos_min"][r], mc.min, rtol=1e-5)
  warm = np.asarray(grid.hyper.warm_start_c) > 0  # the warm start acts on the first layer
  start = out.curves["maxcos_min"][:, 0]
  assert (start[warm] > 0.95).all() and (start[~warm] < 0.9).all()


@pytest.mark.parametrize("batch_norm", [False, True])
def test_a_one_layer_mlp_is_the_linear_encoder_and_its_bn_ignores_padding(batch_norm):
  model = ModelConfig(m=6, encoder="mlp", depth=1, batch_norm=batch_norm)
  encoder = make_encoder(model, 8, 3)
  params = encoder.init(jax.random.key(0), None, Hyper())
  a = jax.random.normal(jax.random.key(1), (10, 8))
  padded = jnp.concatenate([a, 100.0 * jnp.ones((3, 8))])
  weights = jnp.concatenate([jnp.ones(10), jnp.zeros(3)])
  bn = BatchNorm(params["bn_scale0"], params["bn_shift0"]) if batch_norm else None
  linear = encode(Encoder(params["W0"], params["b0"], bn), a, jnp.ones(10), model)
  np.testing.assert_allclose(encoder.apply(params, a, jnp.ones(10)), linear, rtol=1e-6)
  np.testing.assert_allclose(encoder.apply(params, padded, weights)[:10], linear, rtol=1e-5,
                             atol=1e-6)
  unit = encoder.project(params, "row")
  np.testing.assert_allclose(np.linalg.norm(unit["W0"], axis=1), 1.0, rtol=1e-6)

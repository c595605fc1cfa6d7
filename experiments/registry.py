"""The experiment registry: every experiment declared once, in its own file.

An experiment is a module experiments/<name>.py that assigns EXPERIMENT = Experiment(...) at
its top level: its binary (`main`), the paper's claim it is judged by and, for a claim the
paper profile does not reproduce, the scan of what it takes. The Makefile, the report, the
shipped references and the tests all read the list from here, so adding an experiment is one
new file:

  python -m experiments.registry            # every experiment, in the report's order
  python -m experiments.registry --paper    # the paper's (what `make reference` runs)
"""
from __future__ import annotations

import ast
import dataclasses
import functools
import importlib
import os
import re
import sys

from ncl_landscape.report.claims import Claim
from ncl_landscape.report.sensitivity import Scan

KINDS = ("figure", "table", "theorem", "survey")  # the report's order; a survey is beyond the paper
HERE = os.path.dirname(os.path.abspath(__file__))


@dataclasses.dataclass(frozen=True)
class Experiment:
  """One experiment: its binary, the claim its results are judged by and, optionally, a scan.

  The scan looks for the settings under which the claim would come out (`make sensitivity`).

  Attributes:
    name: the binary's module (experiments.<name>) and its results' folder (<out_dir>/<name>).
    kind: one of KINDS.
    claim: what the paper states, and how saved runs are judged against it.
    scan: one choice at a time around the as-run setting, for a claim not reproduced.
  """
  name: str
  kind: str
  claim: Claim
  scan: Scan | None = None

  def __post_init__(self):
    if self.kind not in KINDS:
      raise ValueError(f"{self.name}: kind must be one of {', '.join(KINDS)}; got {self.kind!r}")

  @property
  def paper(self) -> bool:
    """Whether the experiment is one of the paper's (not a survey beyond it)."""
    return self.kind != "survey"


_REGISTERED: dict[str, Experiment] = {}  # declared outside experiments/ (register)


def _declares(path: str) -> bool:
  """Whether the module at path assigns EXPERIMENT at its top level (read, not imported: the
  package's other modules define flags when imported)."""
  tree = ast.parse(open(path).read())
  return any(isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "EXPERIMENT"
                                                  for t in node.targets)
             for node in tree.body)


@functools.cache
def _declared() -> tuple[Experiment, ...]:
  """The experiments declared in experiments/*.py, imported once."""
  names = sorted(f[:-3] for f in os.listdir(HERE)
                 if f.endswith(".py") and _declares(os.path.join(HERE, f)))
  found = []
  for name in names:
    experiment = importlib.import_module(f"experiments.{name}").EXPERIMENT
    if experiment.name != name:
      raise ValueError(f"experiments/{name}.py declares {experiment.name!r}; an experiment's "
                       "name is its file's")
    found.append(experiment)
  return tuple(found)


def _order(experiment: Experiment) -> tuple:
  """KINDS first, then the name with its numbers compared as numbers (fig2 before fig10)."""
  return (KINDS.index(experiment.kind),
          [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", experiment.name)])


def experiments() -> dict[str, Experiment]:
  """Every experiment by name, in the report's order (KINDS, then the name)."""
  every = {e.name: e for e in (*_declared(), *_REGISTERED.values())}
  return {e.name: e for e in sorted(every.values(), key=_order)}


def register(experiment: Experiment) -> None:
  """Adds an experiment declared outside experiments/ (a test's, a user's).

  It is then reported and listed like every other.

  Raises:
    ValueError: an experiment of that name is already declared or registered.
  """
  if experiment.name in {e.name for e in _declared()} | set(_REGISTERED):
    raise ValueError(f"experiment {experiment.name!r} is already registered")
  _REGISTERED[experiment.name] = experiment


def unregister(name: str) -> None:
  """Removes an experiment added by register."""
  _REGISTERED.pop(name)


def names(paper_only: bool = False) -> list[str]:
  """The experiments' names in the report's order (paper_only: the paper's, not surveys)."""
  return [n for n, e in experiments().items() if e.paper or not paper_only]


def claims() -> dict[str, Claim]:
  """Every experiment's claim, in the report's order."""
  return {n: e.claim for n, e in experiments().items()}


def scans() -> dict[str, Scan]:
  """The scan of every experiment that has one, bound to its experiment and claim."""
  return {n: e.scan._replace(experiment=n, claim=e.claim)
          for n, e in experiments().items() if e.scan is not None}


if __name__ == "__main__":
  print(" ".join(names(paper_only="--paper" in sys.argv[1:])))

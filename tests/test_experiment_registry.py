"""The experiment registry (experiments/registry.py): each experiment declared once, in its own
file; the Makefile's list, the report and the scan read it."""
import os
import subprocess
import sys

import pytest

from experiments import registry
from experiments.registry import Experiment
from ncl_landscape.report import writer
from ncl_landscape.report.claims import Claim

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture
def toy():
  """A figure registered at test time, numbered past the paper's."""
  experiment = Experiment("fig10", "figure", Claim("Figure 10: a toy registered at run time",
                                                   "Nothing.", lambda res: ("a finding", [])))
  registry.register(experiment)
  yield experiment
  registry.unregister("fig10")


def test_every_experiment_file_declares_itself_and_the_binaries_follow_the_report_order():
  names = registry.names()
  assert names[:3] == ["fig1", "fig2", "fig3"] and names[-2:] == ["atlas", "rescue"]
  assert registry.names(paper_only=True) == [n for n in names if n not in ("atlas", "rescue")]
  for name in names:
    assert os.path.exists(os.path.join(ROOT, "experiments", f"{name}.py"))
  assert set(registry.scans()) == {"fig2", "fig5", "fig7", "table1", "thm3"}
  assert all(s.experiment == n and s.claim is registry.claims()[n]
             for n, s in registry.scans().items())


def test_a_registered_experiment_is_listed_and_reported_without_another_edit(toy, tmp_path):
  names = registry.names()
  assert names.index("fig10") == names.index("fig7") + 1  # numbers compare as numbers
  assert "fig10" in registry.names(paper_only=True)
  text = writer.report_text(str(tmp_path), registry.claims(), ())
  assert "## Figure 10: a toy registered at run time" in text
  assert "| [fig10](#figure-10-a-toy-registered-at-run-time) | Nothing. |" in text
  with pytest.raises(ValueError, match="already registered"):
    registry.register(toy)
  with pytest.raises(ValueError, match="kind must be one of"):
    Experiment("toy", "poster", toy.claim)


def test_the_makefile_reads_the_list_from_the_registry():
  out = subprocess.run([sys.executable, "-m", "experiments.registry", "--paper"], cwd=ROOT,
                       capture_output=True, text=True, check=True).stdout.split()
  assert out == registry.names(paper_only=True)
  dry = subprocess.run(["make", "-n", "figures", f"PY={sys.executable}"], cwd=ROOT,
                       capture_output=True, text=True, check=True).stdout
  assert f'exps="{" ".join(registry.names())}"' in dry


def test_a_file_declares_an_experiment_by_assigning_experiment_at_its_top(tmp_path):
  declared, helper = tmp_path / "declared.py", tmp_path / "helper.py"
  declared.write_text("EXPERIMENT = Experiment('declared', 'figure', CLAIM)\n")
  helper.write_text("def f():\n  EXPERIMENT = 1\n")
  assert registry._declares(str(declared)) and not registry._declares(str(helper))

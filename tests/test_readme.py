"""The docs' Python snippets run as printed, and what their comments state holds; README's results
table is generated, and no result is typed in README or docs/."""
import os
import re

import numpy as np
import pytest
from conftest import run_here

from experiments import shipped as readme
from ncl_landscape.methods import registry
from ncl_landscape.runs import disk

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _python_blocks(name: str) -> list[str]:
  return re.findall(r"```python\n(.*?)```", open(os.path.join(ROOT, name)).read(), re.S)


def _last_expression(code: str, namespace: dict):
  """Runs the block; returns the value of its last line (an expression)."""
  lines = code.strip().splitlines()
  exec("\n".join(lines[:-1]), namespace)  # noqa: S102 - the docs' own example
  return eval(lines[-1].split("#")[0], namespace)  # noqa: S307


def test_every_python_snippet_of_the_docs_runs_as_printed(tmp_path, monkeypatch):
  library, adding = _python_blocks("docs/extending.md")
  (weights,) = _python_blocks("docs/results-format.md")
  # Adding a loss: the criterion registers, and computes 1 - the mean cosine.
  try:
    namespace = {}
    exec(adding, namespace)  # noqa: S102
    assert "cosine_invariance" in registry.METHODS
    z1, z2 = (np.random.default_rng(i).normal(size=(6, 4)).astype(np.float32) for i in (0, 1))
    loss, terms = namespace["cosine_invariance"](z1, z2, np.ones(6, np.float32), None)
    cos = (z1 * z2).sum(1) / np.linalg.norm(z1, axis=1) / np.linalg.norm(z2, axis=1)
    np.testing.assert_allclose(float(loss), 1 - cos.mean(), rtol=1e-5)
    assert terms == {}
  finally:
    registry.METHODS.pop("cosine_invariance", None)
  # Trained weights: reads results/fig2 (a smoke Figure 2 there) and gives row 0's maxcos_min.
  run_here("fig2", "--profile=smoke", f"--out_dir={tmp_path / 'results'}")
  monkeypatch.chdir(tmp_path)
  value = _last_expression(weights, {})
  row0 = disk.load_summary(str(tmp_path / "results" / "fig2" / "summary.csv"))[0]
  np.testing.assert_allclose(float(value), float(row0["maxcos_min"]), rtol=1e-5)
  # Using the library: the shapes its comments state.
  claimed = re.findall(r"^(out\.\S+)\s+# \[([\d, ]+)\]", library, flags=re.M)
  assert len(claimed) == 2
  namespace = {}
  exec(library, namespace)  # noqa: S102
  for expression, shape in claimed:
    value = eval(expression, namespace)  # noqa: S307
    assert np.shape(value) == tuple(int(v) for v in shape.split(",")), expression


def test_every_file_the_docs_name_exists():
  """README, REPORT claims and docstrings cite only files the repository has."""
  texts = [open(os.path.join(ROOT, "README.md")).read()]
  for folder in ("ncl_landscape", "experiments", "docs"):
    for name in os.listdir(os.path.join(ROOT, folder)):
      if name.endswith((".py", ".md")):
        texts.append(open(os.path.join(ROOT, folder, name)).read())
  cited = set()
  for text in texts:
    cited |= set(re.findall(r"\b((?:docs|tests|ncl_landscape|experiments)/[\w/]+\.(?:py|md))",
                            text))
    cited |= {m + ".md" for m in re.findall(r"\b([A-Z][A-Z_]+)\.md\b", text)}
  missing = [c for c in cited if not os.path.exists(os.path.join(ROOT, c))
             and c != "REPORT.md"]  # REPORT.md is written into results/ by make figures
  assert cited and not missing, missing


def _outside_generated_block(text: str) -> str:
  head, rest = text.split(readme.BEGIN, 1)
  return head + rest.split(readme.END, 1)[1]


def test_the_readme_results_table_is_what_the_shipped_results_give():
  text = open(readme.README).read()
  assert readme.readme_text(text) == text, "README's results table is stale: run make reports"


@pytest.mark.parametrize("name", [n for n in readme.BESIDE if readme.experiments_in(n)])
def test_each_shipped_report_is_what_its_results_give(name):
  path = os.path.join(readme.REFERENCE, name, "REPORT.md")
  assert open(path).read() == readme.shipped_report(name), f"{path} is stale: run make reports"


def test_an_edited_number_in_the_readme_fails():
  text = open(readme.README).read()
  block = text.split(readme.BEGIN, 1)[1].split(readme.END, 1)[0]
  number = re.search(r"\b(\d+) of (\d+)\b", block)
  edited = text.replace(number.group(0), f"{int(number.group(1)) + 1} of {number.group(2)}", 1)
  assert readme.readme_text(edited) != edited


# What a result looks like in prose: a change 'a -> b', a count of cells, seeds or runs, or a
# value to three digits other than the learning rates the settings name.
RESULT_PATTERNS = (r"\d\.\d+ -> \d\.\d+",
                   r"\b\d+ of \d+ (?:cells|seeds|runs|methods|mechanisms|borders)\b",
                   r"\b0\.(?!005\b|025\b)\d{3}\b")


def test_no_result_is_typed_outside_the_generated_table():
  texts = {"README.md": _outside_generated_block(open(readme.README).read())}
  for name in sorted(os.listdir(os.path.join(ROOT, "docs"))):
    if name.endswith(".md"):
      texts[f"docs/{name}"] = open(os.path.join(ROOT, "docs", name)).read()
  typed = [(path, m.group(0)) for path, text in texts.items() for p in RESULT_PATTERNS
           for m in re.finditer(p, text)]
  assert not typed, f"results typed into README.md or docs/ (generate them instead): {typed}"

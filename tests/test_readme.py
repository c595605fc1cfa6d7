"""The README's library example runs as printed, and the shapes its comments state hold."""
import os
import re

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _library_example() -> str:
  readme = open(os.path.join(ROOT, "README.md")).read()
  section = readme[readme.index("## Using the library"):]
  return section[section.index("```python") + len("```python"):section.index("```\n", 10)]


def test_library_example_runs_and_its_shape_comments_hold():
  code = _library_example()
  claimed = re.findall(r"^(out\.\S+)\s+# \[([\d, ]+)\]", code, flags=re.M)
  assert len(claimed) == 2
  namespace = {}
  exec(code, namespace)  # noqa: S102 - the README's own example
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

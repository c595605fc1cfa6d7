"""The shipped references (reference/paper, reference/long, and reference/<profile>-<name> for a
run with options, e.g. reference/paper-batch384): every experiment there is whole, says where
and how long it ran, and holds what the current code trains for its profile and
options; a stale one names itself and the command that makes it again."""
import importlib
import json
import os

import pytest

from ncl_landscape.runs import disk
from ncl_landscape.runs.directory import is_complete
from ncl_landscape.runs.store import digest
from ncl_landscape.training.experiment import arm_identity, results_hash, stale_reason
from ncl_landscape.training.hyper import Hyper
from ncl_landscape.training.sweep import make_grid

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REFERENCES = os.path.join(ROOT, "reference")
SHIPPED = sorted(os.path.join(name, e) for name in os.listdir(REFERENCES)
                 for e in os.listdir(os.path.join(REFERENCES, name))
                 if os.path.exists(os.path.join(REFERENCES, name, e, "config.json")))
SCANNED = sorted(os.path.relpath(root, os.path.join(REFERENCES, "sensitivity"))
                 for root, _, files in os.walk(os.path.join(REFERENCES, "sensitivity"))
                 if "config.json" in files)  # <claim>/<variant>[/paper]/<experiment>
CONTRACT = disk.SUMMARY_COLUMNS[:12]  # experiment ... status
NOT_RESULTS = ("out_dir", "force", "options", "same_runs", "warm_start_c_given")


def paper_settings(exp: str, options: dict | None = None,
                   profile: str = "paper") -> tuple[object, dict]:
  binary = importlib.import_module(f"experiments.{exp}").main
  binary.parse([exp, f"--profile={profile}",
                *(f"--{k}={v}" for k, v in (options or {}).items())])
  return binary, binary.resolve()


def staleness(config: dict, arms: list | None, settings: dict) -> str:
  """Why a saved result is not what the code trains now ('' when it is): its arms' configs, or a
  theorem's settings (its configuration)."""
  if arms is not None:
    return stale_reason(config, arms)
  now = {k: v for k, v in settings.items() if k not in NOT_RESULTS}
  saved = {k: v for k, v in config["settings"].items() if k not in NOT_RESULTS}
  return ", ".join(sorted(k for k in now if json.loads(json.dumps(now[k])) != saved.get(k)))


def test_the_reference_ships_experiments():
  assert any(path.startswith("paper" + os.sep) for path in SHIPPED)


@pytest.mark.parametrize("path", SHIPPED)
def test_a_shipped_reference_is_whole_and_says_where_it_ran(path):
  directory = os.path.join(REFERENCES, path)
  assert is_complete(directory), f"{directory}: a result file does not match its digest"
  config = disk.load_json(os.path.join(directory, "config.json"))
  name = path.split(os.sep)[0]  # <profile> or <profile>-<what its options change>
  assert config["settings"]["profile"] == name.split("-")[0]
  assert ("-" in name) == bool(config["settings"].get("options"))
  rows = disk.load_summary(os.path.join(directory, "summary.csv"))
  assert rows and set(CONTRACT) <= set(rows[0])
  env = config["environment"]
  assert len(env["code"]["commit"]) == 40 and env["machine"]["cores"] >= 1
  assert not os.path.exists(os.path.join(directory, "chunks")), "finished: chunks not shipped"
  if "arms" in config:
    assert set(config["wall_s"]) == set(config["arms"])


@pytest.mark.parametrize("path", SHIPPED)
def test_a_shipped_reference_is_what_the_code_trains_now(path):
  name, exp = os.path.split(path)
  config = disk.load_json(os.path.join(REFERENCES, path, "config.json"))
  options = config["settings"].get("options") or {}
  profile = config["settings"]["profile"]
  binary, settings = paper_settings(exp, options, profile)
  rerun = " ".join([f"python -m experiments.{exp} --profile={profile}", *(
      f"--{k}={v}" for k, v in options.items()), f"--out_dir=reference/{name}"])
  reason = staleness(config, binary.arms and binary.arms(settings), settings)
  assert not reason, f"reference/{path} is stale ({reason}): rerun {rerun}"


@pytest.mark.parametrize("path", SCANNED)
def test_a_shipped_scan_variant_is_whole_and_what_the_code_trains_now(path):
  from experiments import sensitivity as scan_binary
  from experiments.sensitivity import SCANS
  directory = os.path.join(REFERENCES, "sensitivity", path)
  assert is_complete(directory), f"{directory}: a result file does not match its digest"
  assert not os.path.exists(os.path.join(directory, "chunks")), "finished: chunks not shipped"
  claim, name, *scale, _ = path.split(os.sep)
  config = disk.load_json(os.path.join(directory, "config.json"))
  variant = next(v for v in SCANS[claim].variants if v.name == name)
  if variant.split:  # the confirm stage trains only the values that moved
    saved = config["settings"].get("arm_changes", {}).get("axis", {})
    variant = variant._replace(values=tuple(saved.get(variant.split)
                                            or config["settings"][variant.split]))
  scan_binary.main.parse(["sensitivity", "--profile=paper"])
  plan = scan_binary.resolve(SCANS[claim], variant, "paper" if scale else "screen",
                             scan_binary.main.resolve())
  rerun = (f"python -m experiments.sensitivity --claims={claim} --variants={name} "
           f"--stage={'confirm' if scale else 'screen'} --force")
  reason = staleness(config, plan.arms, plan.settings)
  assert not reason, f"reference/sensitivity/{path} is stale ({reason}): rerun {rerun}"


def test_staleness_names_a_changed_field_and_forgives_a_new_default():
  binary, settings = paper_settings("fig4")
  arms = binary.arms(settings)
  config = {"arms": {a.name: a.cfg.to_dict() for a in arms}, "results_hash": results_hash(arms)}
  assert stale_reason(config, arms) == ""
  moved = [a._replace(cfg=a.cfg.replace(train=dict(batch_size=384))) for a in arms]
  assert "ncl_warm train.batch_size (saved 512, now 384)" in stale_reason(config, moved)
  fewer = [a._replace(grid=make_grid(0, 1, Hyper(), sparsity=(0.1,))) for a in arms]
  assert stale_reason(config, fewer) == "the grid's points (seeds, swept values)"
  # a field the code added since, at its default, keeps the reference current
  old = {a.name: a.cfg.to_dict() for a in arms}
  for cfg in old.values():
    del cfg["train"]["ema_base"]
  identities = [{**arm_identity(a), "cfg": old[a.name]} for a in arms]
  assert stale_reason({"arms": old, "results_hash": digest(identities)}, arms) == ""

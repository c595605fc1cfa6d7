"""Each binary's flags: typed, its own, checked before anything is computed.

`Binary(profiles, uses, body, grid)` defines, on a FlagValues of its own (so binaries and
tests can import any number of experiment modules), exactly the flags the binary takes:
- always: --profile, --out_dir, --base_seed, --force, --compilation_cache;
- those its profiles set (--seeds, --epochs, --log_every, --lr, --sparsities,
  --mask_probs, --warm_start_c), their help listing the default of every profile;
- a grid binary's execution flags (--max_runs_per_call, --vmap_width,
  --segment_epochs, --distributed) and the choices between the paper's text and the
  authors' code that apply to every grid model (--activation, --bias_init, --noise_std,
  --alternation, --partial_batch, --batch_size, --predictor_bias; docs/fidelity.md);
- the optional flags it `uses` (OPTIONAL).
A bad value, an unknown flag or a flag of another binary ends the binary before any
compute with one line naming the flag and what it accepts, exit status 2. The
profiles' values are the defaults; a flag given overrides them.
"""
from __future__ import annotations

import os
import re
import sys
import tempfile
from typing import Callable, NamedTuple

from absl import app, flags, logging

from ncl_landscape.fidelity import AS_RUN, AS_WRITTEN, CHOICES, FIDELITIES
from ncl_landscape.methods import registry
from ncl_landscape.testbed import encoders
from ncl_landscape.training.hyper import check_hyper_values

PROFILES = ("smoke", "quick", "paper")


class FlagError(ValueError):
  """A flag value outside its domain; the message names the flag and the range."""


class Flag(NamedTuple):
  """One flag's kind, help, domain and default."""
  kind: str  # 'int', 'float', 'enum', 'list', 'bool' or 'string'
  help: str
  expect: str = ""  # what a good value is, for the one-line error
  check: Callable | None = None  # value -> bool (after absl's own type check)
  choices: tuple = ()  # an enum's values, or the names a list may hold
  default: object = None  # None: the profile's value, or (not in the profile) unset


def _floats(values) -> tuple[float, ...]:
  return tuple(float(v) for v in values)


def _hyper_list(hyper_name: str) -> Callable:
  def check(values):
    floats = _floats(values)
    check_hyper_values(hyper_name, floats)
    return bool(floats)
  return check


def choice_flag(setting: str) -> Flag:
  """The flag of a choice between the paper's text and the authors' code (fidelity.CHOICES)."""
  choice = CHOICES[setting]
  return Flag("enum", choice.help, "one of " + ", ".join(choice.values), choices=choice.values)


def _int_at_least(minimum: int, help: str) -> Flag:
  return Flag("int", help, f"an integer >= {minimum}", lambda v: v >= minimum)


COMMON = {
    "profile": Flag("enum", "smoke (seconds), quick (a 2-core CPU), paper, and for the atlas "
                    "and the rescue map long (the quick grid, 2000 epochs).",
                    "one of " + ", ".join(PROFILES), choices=PROFILES, default="quick"),
    "out_dir": Flag("string", "Results directory; the experiment writes out_dir/<id>/.",
                    default="results"),
    "base_seed": _int_at_least(0, "Root PRNG seed.")._replace(default=0),
    "force": Flag("bool", "Replace a complete result of another configuration in "
                  "out_dir/<id> (without it such a result is kept and the run refused).",
                  default=False),
    "compilation_cache": Flag("bool", "Keep compiled programs on disk, one folder per "
                              "checkout (.cache/jax, or $JAX_COMPILATION_CACHE_DIR), so a rerun "
                              "skips compiling; `make clean-cache` clears it. Changes no "
                              "result.", default=True),
}
CACHE_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), ".cache",
                         "jax")
CACHE_MIN_COMPILE_SECONDS = 0.1  # programs that compile faster are not worth a file
PROFILE_FLAGS = {
    "seeds": _int_at_least(1, "Number of seeds."),
    "epochs": _int_at_least(1, "Training epochs."),
    "log_every": _int_at_least(1, "Epochs between logged curve points."),
    "lr": Flag("list", "Comma-separated SGD learning rates (a traced axis of the grid: one "
               "compile serves them all).", "numbers > 0", _hyper_list("lr")),
    "sparsities": Flag("list", "Comma-separated sparsities.", "numbers in (0, 1]",
                       _hyper_list("sparsity")),
    "mask_probs": Flag("list", "Comma-separated mask probabilities.", "numbers in [0, 1)",
                       _hyper_list("mask_prob")),
    "warm_start_c": Flag("list", "Comma-separated warm-start exponents c (noise std p^(-c/2)).",
                         "numbers > 0", _hyper_list("warm_start_c")),
}
GRID = {
    "max_runs_per_call": _int_at_least(1, "Cut each grid into compiled calls of at most this "
                                       "many runs."),
    "segment_epochs": _int_at_least(1, "Epochs per segment: a progress line and a saved, "
                                    "resumable state after each. Default: about a tenth of "
                                    "the run, at least 5 s each."),
    "vmap_width": _int_at_least(1, "Vmap exactly this many runs at a time: results then are "
                                "bit-identical across chunkings and device counts. Default: "
                                "a call's runs at once, on a CPU groups of about 4 once their "
                                "datasets outgrow its cache."),
    "distributed": Flag("bool", "Join the processes of a multi-host run first "
                        "(jax.distributed.initialize: the coordinator from the flags below, "
                        "JAX_COORDINATOR_ADDRESS, or Slurm / Open MPI / TPU detection); out_dir "
                        "must be shared.", default=False),
    "coordinator_address": Flag("string", "With --distributed: host:port of process 0's "
                                "coordinator.", "host:port",
                                lambda v: bool(re.fullmatch(r"[\w.\-\[\]:]+:\d+", v))),
    "num_processes": _int_at_least(1, "With --distributed: how many processes take part."),
    "process_id": _int_at_least(0, "With --distributed: this process's index, in [0, "
                                "--num_processes)."),
    "distributed_timeout": _int_at_least(1, "With --distributed: seconds to wait for every "
                                         "process to join, and for a silent one to count as "
                                         "dead.")._replace(default=120),
    # the paper's text where the authors' code differs, on every model of the grid
    "activation": choice_flag("activation"),
    "bias_init": choice_flag("bias_init"),
    "noise_std": Flag("float", "Data noise s0 (default as run: sqrt(ln d) / d).",
                      "a number >= 0", lambda v: v >= 0),
    "alternation": choice_flag("alternation"),
    "partial_batch": choice_flag("partial_batch"),
    "batch_size": _int_at_least(1, "Batch size of every model (default as the scripts ran: "
                                "512; a run without their flags had 384)."),
    "predictor_bias": Flag("bool", CHOICES["predictor_bias"].help),
}
OPTIONAL = {
    "latent": choice_flag("latent"),
    "cl_masks": choice_flag("cl_masks"),
    "batch_norm": choice_flag("batch_norm"),
    "one_hot_sign": choice_flag("one_hot_sign"),
    "head_init": choice_flag("head_init"),
    "encoder": Flag("enum", CHOICES["encoder"].help, "one of " + ", ".join(encoders.ENCODERS),
                    choices=tuple(encoders.ENCODERS)),
    "methods": Flag("list", "Comma-separated method names (registry.METHODS).",
                    "registered method names", choices=None),
    "fidelities": Flag("list", f"Comma-separated {AS_RUN} (the scripts' model) and/or "
                       f"{AS_WRITTEN} (the text's).", f"{AS_RUN} and/or {AS_WRITTEN}",
                       choices=FIDELITIES),
    "mechanisms": Flag("list", "Comma-separated mechanisms.", "the binary's mechanisms",
                       choices=None),
    "widths": Flag("list", "Comma-separated encoder widths m.", "integers >= 1",
                   lambda v: bool(v) and all(re.fullmatch(r"\d+", w) and int(w) >= 1
                                             for w in v)),
    "recovered_at": Flag("float", "The final minimum max-cosine that counts as recovered.",
                         "a number in (0, 1]", lambda v: 0 < v <= 1),
}
DISTRIBUTED = ("distributed", "coordinator_address", "num_processes", "process_id",
               "distributed_timeout")  # how processes join: never a setting
# Flags that change what is computed (the others say where and how it runs).
RESULT_FLAGS = ("base_seed", *PROFILE_FLAGS, "activation", "bias_init", "noise_std",
                "alternation", "partial_batch", "batch_size", "predictor_bias", *OPTIONAL)


def _shown(value) -> str:
  if isinstance(value, (tuple, list)):
    return "/".join(str(v) for v in value)
  return str(value)


class Binary:
  """An experiment binary: its flags, their resolution into settings, and body(settings).

  `main(argv)` is the absl main, `run()` starts it; `parse(argv)` and `resolve()` are the two
  checks, raising FlagError (tests call them in process). A grid binary's `arms(settings)` are the
  arms it trains (experiment.Arm).

  Args:
    profiles: profile -> settings; the flags the profiles set are defined, their values the
      defaults.
    uses: the optional flags it takes (OPTIONAL; a profile flag named here is defined too).
    body: body(settings) does the binary's work.
    grid: whether it trains a grid: its execution flags and the text's choices (GRID).
    arms: settings -> the arms a grid binary trains; None for a theorem.
  """

  def __init__(self, profiles: dict, uses: tuple[str, ...], body: Callable[[dict], None],
               grid: bool = True, arms: Callable[[dict], list] | None = None):
    self.profiles, self.uses, self.body, self.arms = profiles, uses, body, arms
    keys = {k for s in profiles.values() for k in s}
    profile = COMMON["profile"]._replace(choices=tuple(profiles),
                                         expect="one of " + ", ".join(profiles))
    own = {k: f for k, f in PROFILE_FLAGS.items() if k in keys or k in uses}
    self.specs = {**COMMON, "profile": profile, **own, **(GRID if grid else {}),
                  **{k: f for k, f in OPTIONAL.items() if k in uses}}
    self.flags = self.define()

  def allowed(self, name: str) -> tuple[str, ...]:
    """The names a list flag may hold."""
    if name == "methods":
      return tuple(registry.METHODS)
    if name == "mechanisms":
      return tuple(dict.fromkeys(m for s in self.profiles.values()
                                 for m in s.get("mechanisms", ())))
    return self.specs[name].choices

  def define(self) -> flags.FlagValues:
    """Defines the binary's flags on a FlagValues of its own, and returns it.

    Each help adds what an int, float or list flag must be, and its default per profile; int, float
    and list flags, and those with a check, get a validator.
    """
    fv = flags.FlagValues()
    for name, spec in self.specs.items():
      help_text = spec.help + (f" Must be {spec.expect}." if spec.kind in ("int", "float", "list")
                               and spec.expect else "")
      defaults = [s.get(name) for s in self.profiles.values()]
      if any(d is not None for d in defaults):
        help_text += " Default per profile: " + ", ".join(
            f"{p} {_shown(d)}" for p, d in zip(self.profiles, defaults)) + "."
      define = {"int": flags.DEFINE_integer, "float": flags.DEFINE_float,
                "enum": flags.DEFINE_enum, "list": flags.DEFINE_list,
                "bool": flags.DEFINE_bool, "string": flags.DEFINE_string}[spec.kind]
      if spec.kind == "enum":
        define(name, spec.default, list(spec.choices), help_text, flag_values=fv)
      else:
        define(name, spec.default, help_text, flag_values=fv)
      allowed = self.allowed(name) if spec.kind == "list" and spec.check is None else None
      check = spec.check or (lambda v, allowed=allowed: bool(v) and set(v) <= set(allowed))
      if spec.kind in ("int", "float", "list") or spec.check is not None:
        flags.register_validator(name, lambda v, check=check: v is None or _holds(check, v),
                                 flag_values=fv)
    return fv

  def expect(self, name: str) -> str:
    """What a good value of flag `name` is, in words (for the one-line error)."""
    spec = self.specs[name]
    if spec.kind == "bool":
      return "true or false"
    if spec.kind == "list" and spec.check is None:
      return "a comma-separated list of " + ", ".join(self.allowed(name))
    return spec.expect

  def parse(self, argv: list[str]) -> list[str]:
    """Parses argv into this binary's flags; returns the arguments left.

    absl's own flags, such as --verbosity, go into flags.FLAGS.

    Raises:
      FlagError: one line for a bad value or an unknown flag.
    """
    self.flags = self.define()
    try:
      rest = self.flags(argv, known_only=True)
      return flags.FLAGS(rest)
    except flags.UnrecognizedFlagError as e:
      raise FlagError(f"--{e.flagname} is not a flag of this binary (--help lists "
                      "them)") from None
    except flags.Error as e:
      found = re.match(r"flag --(\w+)=(.*?): ", str(e))
      if found and found.group(1) in self.specs:
        raw = next((a.split("=", 1)[1] for a in argv if a.startswith(f"--{found.group(1)}=")),
                   found.group(2))
        raise FlagError(f"--{found.group(1)} must be {self.expect(found.group(1))}; got "
                        f"{raw!r}") from None
      raise FlagError(str(e).splitlines()[0]) from None

  def resolve(self) -> dict:
    """The settings: the profile's, with the given flags over them.

    An optional flag neither gives is None; --methods and --fidelities default to all; log_every is
    at most epochs. The settings also record whether --warm_start_c was given, and the flags given
    that change what is computed (options).

    Raises:
      FlagError: --process_id not below --num_processes.
    """
    fv = self.flags
    s = dict(self.profiles[fv.profile], profile=fv.profile, out_dir=fv.out_dir,
             base_seed=fv.base_seed, force=fv.force)
    for name, spec in self.specs.items():
      if name in COMMON:
        continue
      if not fv[name].present:
        s.setdefault(name, fv[name].value)
        continue
      value = fv[name].value
      if name in ("sparsities", "mask_probs", "warm_start_c", "lr"):
        value = _floats(value)
      elif name == "widths":
        value = tuple(int(w) for w in value)
      elif spec.kind == "list":
        value = tuple(value)
      s[name] = value
    if "methods" in self.uses and s["methods"] is None:
      s["methods"] = tuple(registry.METHODS)
    if "fidelities" in self.uses and s["fidelities"] is None:
      s["fidelities"] = FIDELITIES
    if "log_every" in s:
      s["log_every"] = min(s["log_every"], s["epochs"])
    if None not in (s.get("process_id"), s.get("num_processes")) and \
        not s["process_id"] < s["num_processes"]:
      raise FlagError(f"--process_id must be in [0, {s['num_processes']}) (--num_processes); "
                      f"got {s['process_id']}")
    s["warm_start_c_given"] = "warm_start_c" in self.specs and fv["warm_start_c"].present
    s["options"] = {name: _shown(fv[name].value).replace("/", ",") for name in RESULT_FLAGS
                    if name in self.specs and fv[name].present}
    return s

  def help(self) -> str:
    """The binary's flags and their help, as --help prints them."""
    lines = self.flags.get_help(include_special_flags=False).splitlines()
    return "\n".join(["flags:"] + [line for line in lines if line.startswith(" ")])

  def main(self, argv: list[str]) -> None:
    """The absl main: resolves the settings, checks out_dir, then runs body(settings).

    A FlagError exits 2; --compilation_cache turns the cache on first (enable_compilation_cache).
    """
    del argv
    try:
      settings = self.resolve()
      check_out_dir(settings["out_dir"])
    except FlagError as e:
      exit_with(e)
    if self.flags.compilation_cache:
      enable_compilation_cache()
    self.body(settings)

  def parse_or_exit(self, argv: list[str]) -> list[str]:
    """absl's flags parser: --help prints the module docstring and flags; a bad flag exits 2."""
    if any(a in ("--help", "-h", "--helpshort") for a in argv[1:]):
      print(f"{sys.modules['__main__'].__doc__ or ''}\n{self.help()}")
      sys.exit(0)
    try:
      return self.parse(argv)
    except FlagError as e:
      exit_with(e)

  def run(self) -> None:
    """Runs the binary: app.run of main, its flags parsed by parse_or_exit."""
    app.run(self.main, flags_parser=self.parse_or_exit)


def enable_compilation_cache() -> str:
  """Turns on JAX's persistent compilation cache; returns its folder.

  The folder is $JAX_COMPILATION_CACHE_DIR, else CACHE_DIR. A cached program is the executable the
  compiler made, so results are bit for bit those of a fresh compile.
  """
  import jax  # pylint: disable=g-import-not-at-top  (flags are checked before JAX starts)
  folder = os.environ.get("JAX_COMPILATION_CACHE_DIR") or CACHE_DIR
  jax.config.update("jax_compilation_cache_dir", folder)
  jax.config.update("jax_persistent_cache_min_compile_time_secs", CACHE_MIN_COMPILE_SECONDS)
  logging.info("compilation cache: %s (--nocompilation_cache to bypass, make clean-cache to "
               "clear)", folder)
  return folder


def run_plain(main: Callable) -> None:
  """app.run for a binary on absl's global flags (bench, launch, report).

  A bad value or an unknown flag ends it with one line, exit status 2.
  """
  def parse(argv):
    try:
      return flags.FLAGS(argv)
    except flags.Error as e:
      exit_with(FlagError(str(e).splitlines()[0]))
  app.run(main, flags_parser=parse)


def check_out_dir(out_dir: str) -> None:
  """Raises FlagError unless out_dir is (or can be made) a writable directory."""
  try:
    os.makedirs(out_dir, exist_ok=True)
    with tempfile.TemporaryFile(dir=out_dir):
      pass
  except OSError as e:
    raise FlagError(f"--out_dir must be a writable directory; {out_dir!r}: "
                    f"{e.strerror or e}") from None


def _holds(check: Callable, value) -> bool:
  try:
    return bool(check(value))
  except ValueError:
    return False


def exit_with(error: Exception) -> None:
  """Prints 'error: <error>' on stderr, and exits with status 2."""
  print(f"error: {error}", file=sys.stderr)
  sys.exit(2)

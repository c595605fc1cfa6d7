"""The progress line of `make figures`: experiment k of n, the time elapsed, and how long the
whole run has left, from each experiment's known cost scaled by the pace so far.

  python -m experiments.eta --profile=quick --experiments=fig1,fig2,fig3 --next=fig2 \
      --elapsed=95 --out_dir=results

Known costs: the seconds each experiment took the last time `make figures` ran it at this
profile into out_dir (out_dir/timings.tsv, one `profile experiment seconds` line per finished
experiment, which the Makefile appends); where this machine has none yet, those of the run
shipped beside the reference (reference/<profile>/timings.tsv, a fresh clone's `make figures`
on the reference machine). Once an experiment has finished, the remaining costs are scaled by
elapsed / (the finished ones' known costs), so a faster or slower machine corrects the
estimate as it goes.
"""
from __future__ import annotations

import os
import sys

from absl import flags

FLAGS = flags.FlagValues()  # its own: the library modules that import this one keep theirs
flags.DEFINE_string("profile", "quick", "The profile make figures runs.", flag_values=FLAGS)
flags.DEFINE_list("experiments", [], "Every experiment of the run, in order.", flag_values=FLAGS)
flags.DEFINE_string("next", "", "The experiment about to start.", flag_values=FLAGS)
flags.DEFINE_integer("elapsed", 0, "Seconds since the run started.", lower_bound=0,
                     flag_values=FLAGS)
flags.DEFINE_string("out_dir", "results", "The run's results directory (its timings.tsv).",
                    flag_values=FLAGS)


def read_costs(path: str, profile: str) -> dict[str, float]:
  """experiment -> seconds of the last line of that profile in a timings file ({} if none)."""
  costs = {}
  if os.path.exists(path):
    for line in open(path):
      fields = line.split()
      if len(fields) == 3 and fields[0] == profile:
        costs[fields[1]] = float(fields[2])
  return costs


REFERENCE = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "reference")


def known_costs(out_dir: str, profile: str, reference: str = REFERENCE) -> dict[str, float]:
  """experiment -> seconds, from out_dir/timings.tsv, else the shipped reference's run."""
  return {**read_costs(os.path.join(reference, profile, "timings.tsv"), profile),
          **read_costs(os.path.join(out_dir, "timings.tsv"), profile)}


def seconds_left(costs: dict[str, float], experiments: list[str], position: int,
                 elapsed: float) -> float | None:
  """The known cost of the experiments still to run, scaled by the pace of those before them.

  Args:
    costs: experiment -> its known seconds (known_costs).
    experiments: every experiment of the run, in order.
    position: the index of the experiment about to start.
    elapsed: seconds since the run started.

  Returns:
    The cost of experiments[position:] times elapsed / (the known cost of those before; 1 when none
    has finished); None when an experiment's cost is unknown.
  """
  if not all(e in costs for e in experiments):
    return None
  done = sum(costs[e] for e in experiments[:position])
  pace = elapsed / done if done > 0 and elapsed > 0 else 1.0
  return pace * sum(costs[e] for e in experiments[position:])


def line(experiments: list[str], upcoming: str, elapsed: int, costs: dict[str, float]) -> str:
  """'experiment k of n: <id> (elapsed <s> s, about <t> s left of the whole run)'."""
  position = experiments.index(upcoming)
  left = seconds_left(costs, experiments, position, elapsed)
  eta = ("no known cost of every experiment at this profile on this machine yet"
         if left is None
         else f"about {left:.0f} s left of the whole run")
  return (f"experiment {position + 1} of {len(experiments)}: {upcoming} "
          f"(elapsed {elapsed} s, {eta})")


def main(argv: list[str]) -> None:
  """Prints the progress line; exits 2 if --next is not one of --experiments."""
  FLAGS(argv)
  if FLAGS.next not in FLAGS.experiments:
    print(f"error: --next: {FLAGS.next!r} is not one of --experiments", file=sys.stderr)
    sys.exit(2)
  costs = known_costs(FLAGS.out_dir, FLAGS.profile)
  print(line(FLAGS.experiments, FLAGS.next, FLAGS.elapsed, costs), flush=True)


if __name__ == "__main__":
  main(sys.argv)

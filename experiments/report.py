"""Writes results/REPORT.md from the saved results of every experiment.

  python -m experiments.report --out_dir=results
  python -m experiments.report --out_dir=reference/paper   # the reference's own REPORT.md
  python -m experiments.report --out_dir=reference/long --reference_dirs=reference/quick
  python -m experiments.report --shipped   # every reference/*/REPORT.md and README's table
"""
from __future__ import annotations

from absl import flags

from experiments import cli, registry, shipped
from ncl_landscape.report.writer import DEFAULT_REFERENCES, write_report

flags.DEFINE_string("out_dir", "results", "Results directory holding one folder per experiment.")
flags.DEFINE_list("reference_dirs", list(DEFAULT_REFERENCES),
                  "Shipped references set beside these results, each experiment beside the "
                  "first that holds it ('' for none; out_dir itself is skipped).")
flags.DEFINE_bool("shipped", False, "Rewrite the shipped references' REPORT.md files and "
                  "README's results table from reference/ instead.")
FLAGS = flags.FLAGS


def main(argv):
  """Writes out_dir/REPORT.md, or with --shipped every shipped REPORT.md and README's table."""
  del argv
  if FLAGS.shipped:
    for path in shipped.write_all():
      print(f"wrote {path}")
    return
  print(f"wrote {write_report(FLAGS.out_dir, registry.claims(), tuple(FLAGS.reference_dirs))}")


if __name__ == "__main__":
  cli.run_plain(main)

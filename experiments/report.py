"""Writes results/REPORT.md from the saved results of every experiment.

  python -m experiments.report --out_dir=results
  python -m experiments.report --out_dir=reference/paper   # the reference's own REPORT.md
"""
from __future__ import annotations

from absl import flags

from experiments import cli
from ncl_landscape.report import DEFAULT_REFERENCE, write_report

flags.DEFINE_string("out_dir", "results", "Results directory holding one folder per experiment.")
flags.DEFINE_string("reference_dir", DEFAULT_REFERENCE, "The paper-profile reference shown "
                    "beside these results ('' for none; none either when it is out_dir).")
FLAGS = flags.FLAGS


def main(argv):
  del argv
  print(f"wrote {write_report(FLAGS.out_dir, reference_dir=FLAGS.reference_dir or None)}")


if __name__ == "__main__":
  cli.run_plain(main)

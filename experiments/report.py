"""Writes results/REPORT.md from the saved results of every experiment.

  python -m experiments.report --out_dir=results
"""
from __future__ import annotations

from absl import flags

from experiments import cli
from ncl_landscape.report import write_report

flags.DEFINE_string("out_dir", "results", "Results directory holding one folder per experiment.")
FLAGS = flags.FLAGS


def main(argv):
  del argv
  print(f"wrote {write_report(FLAGS.out_dir)}")


if __name__ == "__main__":
  cli.run_plain(main)

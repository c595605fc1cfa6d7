"""Starts N processes of one experiment binary on this machine, joined by --distributed over
127.0.0.1: a multi-host run in miniature (docs/scaling.md, "Several hosts").

  python -m experiments.launch --processes=2 --devices_per_process=2 -- \
      experiments.fig2 --profile=smoke --out_dir=results_distributed

Each process gets --distributed, the coordinator (a free local port), --num_processes and its
--process_id, and on a CPU its share of forced host devices. If one fails, the others are
stopped; the exit status is the first failure's (0 when all finish).
"""
from __future__ import annotations

import os
import socket
import subprocess
import sys

from absl import flags

from experiments import cli

flags.DEFINE_integer("processes", 2, "How many processes.", lower_bound=1)
flags.DEFINE_integer("devices_per_process", 1, "Forced host (CPU) devices per process.",
                     lower_bound=1)
FLAGS = flags.FLAGS


def free_port() -> int:
  """A TCP port on 127.0.0.1 that is free when asked."""
  with socket.socket() as s:
    s.bind(("127.0.0.1", 0))
    return s.getsockname()[1]


def launch(binary: list[str], processes: int, devices: int) -> int:
  """Runs `python -m <binary>` as `processes` processes joined by --distributed; returns the status.

  If one fails, the others are stopped.

  Args:
    binary: the module and its arguments, e.g. ['experiments.fig2', '--profile=smoke'].
    processes: how many processes.
    devices: forced host (CPU) devices per process.

  Returns:
    The first failure's exit status; 0 when all finish.
  """
  port = free_port()
  env = {**os.environ, "XLA_FLAGS": os.environ.get("XLA_FLAGS", "")
         + f" --xla_force_host_platform_device_count={devices}"}
  procs = [subprocess.Popen([sys.executable, "-m", *binary, "--distributed",
                             f"--coordinator_address=127.0.0.1:{port}",
                             f"--num_processes={processes}", f"--process_id={i}"], env=env)
           for i in range(processes)]
  status = 0
  while procs:
    for p in list(procs):
      if p.poll() is not None:
        procs.remove(p)
        if p.returncode and not status:
          status = p.returncode
          for other in procs:
            other.terminate()
    if procs:
      try:
        procs[0].wait(timeout=0.5)
      except subprocess.TimeoutExpired:
        pass
  return status


def main(argv):
  """Launches the binary named after --, and exits with launch's status."""
  if len(argv) < 2:
    cli.exit_with(cli.FlagError("name the binary after --, e.g. -- experiments.fig2 "
                                "--profile=smoke"))
  sys.exit(launch(argv[1:], FLAGS.processes, FLAGS.devices_per_process))


if __name__ == "__main__":
  cli.run_plain(main)

"""--distributed for real: processes on 127.0.0.1 (a free port), each with 2 forced host
devices and gloo collectives, train one grid into one shared --out_dir; only process 0
writes. Bounded: every process has a timeout, and the grid is tiny (mostly start-up)."""
import os
import signal
import socket
import subprocess
import sys
import time

import numpy as np
import pytest
from conftest import run_here

from ncl_landscape.runs import disk, store

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ARGS = ["--profile=smoke", "--epochs=16", "--segment_epochs=2", "--vmap_width=1"]
TIMEOUT = 300


def _launch(out_dir, devices: int, *flags) -> subprocess.Popen:
  env = {**os.environ, "XLA_FLAGS": os.environ.get("XLA_FLAGS", "")
         + f" --xla_force_host_platform_device_count={devices}"}
  return subprocess.Popen([sys.executable, "-m", "experiments.fig6", *ARGS, f"--out_dir={out_dir}",
                           *flags], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE, text=True)


def _processes(out_dir) -> list[subprocess.Popen]:
  with socket.socket() as s:
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
  return [_launch(out_dir, 2, "--distributed", f"--coordinator_address=127.0.0.1:{port}",
                  "--num_processes=2", f"--process_id={i}", "--distributed_timeout=20")
          for i in range(2)]


def _finish(procs) -> list[str]:
  errs = [p.communicate(timeout=TIMEOUT)[1] for p in procs]
  for p, err in zip(procs, errs):
    assert p.returncode == 0, err[-2000:]
  return errs


@pytest.fixture(scope="module")
def one_process(tmp_path_factory):
  """The grid on one process with 4 host devices."""
  out = tmp_path_factory.mktemp("one")
  _finish([_launch(out, 4)])
  return out / "fig6"


def _agree(a, b):
  """Same rows and columns; numbers and weights within float32 rounding (the processes'
  programs are partitioned alike but not compiled bit-identically: measured up to 1.2e-7)."""
  rows_a, rows_b = (disk.load_summary(str(d / "summary.csv")) for d in (a, b))
  assert [list(r) for r in rows_a] == [list(r) for r in rows_b]
  for ra, rb in zip(rows_a, rows_b):
    for k in ra:
      try:
        np.testing.assert_allclose(float(ra[k]), float(rb[k]), rtol=1e-5, atol=1e-6, err_msg=k)
      except ValueError:
        assert ra[k] == rb[k], k
  with np.load(a / "weights.npz") as wa, np.load(b / "weights.npz") as wb:
    assert sorted(wa.files) == sorted(wb.files)
    for k in wa.files:
      np.testing.assert_allclose(wa[k], wb[k], rtol=1e-5, atol=1e-6, err_msg=k)


def _launched(out_dir) -> str:
  """Both processes started by the launcher a user copies (experiments/launch.py)."""
  proc = subprocess.run([sys.executable, "-m", "experiments.launch", "--processes=2",
                         "--devices_per_process=2", "--", "experiments.fig6", *ARGS,
                         f"--out_dir={out_dir}", "--distributed_timeout=20"], cwd=ROOT,
                        capture_output=True, text=True, timeout=TIMEOUT)
  assert proc.returncode == 0, proc.stderr[-2000:]
  return proc.stderr


def test_a_killed_process_ends_the_other_and_both_resume_to_what_one_process_trains(
    tmp_path, one_process):
  """Killed: the other process ends within a minute, with one line where a collective notices
  the loss (docs/scaling.md); relaunched, both resume and train, over a mesh of both processes'
  devices, what one process of four devices trains."""
  procs = _processes(tmp_path)
  deadline = time.time() + TIMEOUT
  while time.time() < deadline and not any(
      name.startswith("segment") for name in store.load_manifest(str(tmp_path / "fig6"))
      .get("ncl_pred", {}).get("chunks", {})):
    time.sleep(0.1)
  procs[1].send_signal(signal.SIGKILL)
  killed = time.time()
  err = procs[0].communicate(timeout=TIMEOUT)[1]
  procs[1].communicate(timeout=TIMEOUT)
  assert time.time() - killed < 60 and procs[0].returncode in (1, -signal.SIGABRT), err[-3000:]
  if procs[0].returncode == 1:  # a collective noticed the loss (else JAX's heartbeat: an abort)
    last = err.strip().splitlines()[-1]
    assert last.startswith("error: a process of the --distributed run failed") and \
        "rerun every process to resume" in last
  manifest = store.load_manifest(str(tmp_path / "fig6"))["ncl_pred"]
  assert store.load_segment(str(tmp_path / "fig6"), "ncl_pred", 0, manifest["hash"]) is not None
  err = _launched(tmp_path)
  assert "resumed at epoch" in err and err.count("epoch 16/16") == 2  # both trained, each logged
  devices = disk.load_json(str(tmp_path / "fig6" / "config.json"))["environment"]["devices"]
  assert len(devices) == 4  # the mesh spans both processes' devices
  _agree(tmp_path / "fig6", one_process)


def test_a_coordinator_that_does_not_answer_exits_2_in_seconds_with_one_line(tmp_path):
  start = time.time()
  proc = subprocess.run([sys.executable, "-m", "experiments.fig6", "--profile=smoke",
                         f"--out_dir={tmp_path}", "--distributed",
                         "--coordinator_address=127.0.0.1:9", "--num_processes=2",
                         "--process_id=1", "--distributed_timeout=2"], cwd=ROOT,
                        capture_output=True, text=True, timeout=120)
  assert proc.returncode == 2 and time.time() - start < 60 and "Traceback" not in proc.stderr
  assert proc.stderr.strip().splitlines()[-1].startswith(
      "error: --coordinator_address: nothing answers at")


@pytest.mark.parametrize("flags,needle", [
    (["--coordinator_address=nonsense"], "error: --coordinator_address must be host:port"),
    (["--num_processes=2", "--process_id=2"], "error: --process_id must be in [0, 2)")])
def test_a_bad_coordinator_flag_exits_2_with_one_line(tmp_path, capsys, flags, needle):
  with pytest.raises(SystemExit) as exited:
    run_here("fig6", "--profile=smoke", f"--out_dir={tmp_path}", "--distributed", *flags)
  assert exited.value.code == 2
  assert capsys.readouterr().err.strip().splitlines()[-1].startswith(needle)

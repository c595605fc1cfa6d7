"""The ETA of `make figures`: known costs, scaled by the pace so far."""
from experiments import eta

EXPERIMENTS = ["fig1", "fig2", "fig3"]


def test_the_remaining_costs_scale_with_the_pace_of_the_finished_ones():
  costs = {"fig1": 100.0, "fig2": 200.0, "fig3": 300.0}
  assert eta.seconds_left(costs, EXPERIMENTS, 0, 0) == 600.0
  assert eta.seconds_left(costs, EXPERIMENTS, 1, 50) == 250.0  # twice as fast so far
  assert eta.seconds_left(costs, EXPERIMENTS, 2, 600) == 600.0  # twice as slow
  assert eta.seconds_left({"fig1": 1.0}, EXPERIMENTS, 1, 5) is None


def test_each_experiments_last_timing_of_the_profile_is_its_known_cost(tmp_path):
  (tmp_path / "timings.tsv").write_text(
      "quick fig1 10\nquick fig2 20\npaper fig3 99\nquick fig3 30\nquick fig1 11\n")
  assert eta.known_costs(str(tmp_path), "quick", str(tmp_path / "none")) == {
      "fig1": 11.0, "fig2": 20.0, "fig3": 30.0}
  line = eta.line(EXPERIMENTS, "fig2", 22, {"fig1": 11.0, "fig2": 20.0, "fig3": 30.0})
  assert line == "experiment 2 of 3: fig2 (elapsed 22 s, about 100 s left of the whole run)"


def test_a_first_run_reads_the_shipped_runs_costs_until_it_has_its_own(tmp_path):
  shipped = tmp_path / "reference"
  (shipped / "quick").mkdir(parents=True)
  (shipped / "quick" / "timings.tsv").write_text("quick fig1 10\nquick fig2 20\n")
  out = tmp_path / "results"
  out.mkdir()
  assert eta.known_costs(str(out), "quick", str(shipped)) == {"fig1": 10.0, "fig2": 20.0}
  (out / "timings.tsv").write_text("quick fig1 30\n")
  assert eta.known_costs(str(out), "quick", str(shipped)) == {"fig1": 30.0, "fig2": 20.0}
  assert eta.known_costs(str(out), "paper", str(shipped)) == {}

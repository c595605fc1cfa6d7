"""Results on disk: the one persistence layer (docs/results-format.md).

  disk.py        config.json, summary.csv and curves.npz, each written atomically
  directory.py   an experiment's directory: its result files written last-to-complete, read back
  store.py       resumable chunks of an unfinished experiment
  results.py     one saved experiment as the report reads it
  run_status.py  a run's status (ok, diverged, unbounded, collapsed) from what was saved
  provenance.py  what ran, in words: a figure's subtitle and a REPORT section's line
"""

"""Figures, drawn only from saved results; every plot_* draws on a given Axes.

  paper.py      the paper's figures and the shared style (plt, save_figure)
  subtitles.py  a figure's subtitle: what ran and how it differs from the paper's text
  table1.py     Table 1 as a figure; atlas.py, rescue.py: the surveys' figures
  sensitivity.py  "What it takes": a claim's scanned values as a dot plot
"""

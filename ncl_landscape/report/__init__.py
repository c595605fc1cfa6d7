"""The report: the paper's claims beside the saved runs, judged by one rule.

  verdicts.py     the rule: a claim's parts, tested cell by cell, each cell by its seeds
  claims.py       the kinds of claim (contrast, rises, falls, ...) and their judgements
  writer.py       REPORT.md: a section per experiment
  rescue.py       the rescue map's borders; compare.py: a survey at two training lengths
  sensitivity.py  "What it takes": a claim scanned one choice at a time
"""

"""Every threshold the verdicts, the surveys and the convergence flag read, defined once.

All but Theorem 3's compare a run's minimum max-cosine (Eq. 12) over the dictionary's atoms.
"""
HIGH = 0.8  # at least this is "high": M is recovered (the rescue map's default border too)
LOW = 0.6  # below this is "low" (the paper's failures end near 0.4-0.5)
MARGIN = 0.1  # the least CL - NCL gap that counts as "above"
RISE = 0.05  # the least change that counts as a rise or a fall (and as still moving)
TOLERANCE = 0.05  # distance to a reported number that counts as matching it
# Theorem 3, in multiples of the noise floor of ||W^o - I||_F (not a max-cosine):
CLEAR_START = 2.0  # a warm start at least this far above the floor can show convergence
REQUIRED_START = 3.0  # what the scan of what it takes asks of its lowered-noise setting

"""The testbed: what is learned from, and how recovery is measured.

  data.py      the dictionary M and the sparse latents z: x = M z + eps (Eq. 1)
  augment.py   the random masks that make two views (Eq. 2, Eq. 3)
  networks.py  the paper's encoder act(BN(W a + b)) (Section 4.1), BN, activations
  encoders.py  every encoder through one interface (the linear one and a flax MLP)
  metrics.py   max-cosine (Eq. 10-12), support recovery, divergence, rank and collapse
"""

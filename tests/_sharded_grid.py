"""Helper run in a subprocess with N forced host devices (argv[2]): saves a sharded grid's output."""
import os
import sys

DEVICES = int(sys.argv[2])
# The suite's flags but not conftest.LEGACY_EMITTERS (importing conftest would start JAX before
# the device count is set): the claim is that layouts agree bit for bit as users run them, and
# the legacy emitters round differently per shard shape.
FLAGS = os.environ.get("XLA_FLAGS", "").replace("--xla_cpu_use_fusion_emitters=false", "")
os.environ["XLA_FLAGS"] = f"{FLAGS} --xla_force_host_platform_device_count={DEVICES}"

import jax  # noqa: E402
import numpy as np  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from test_scale import SMALL, small_grid  # noqa: E402

from ncl_landscape.training.sweep import run_grid  # noqa: E402

assert jax.device_count() == DEVICES
out = run_grid(SMALL, small_grid(), vmap_width=2)
np.savez(sys.argv[1], loss=out.curves["loss"], W=out.params["online"].W,
         maxcos_min=out.curves["maxcos_min"])

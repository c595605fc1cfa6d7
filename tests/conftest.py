"""Shared fixtures."""
import jax
import pytest


@pytest.fixture
def x64():
  """Float64 inside one test (finite differences, closed forms)."""
  jax.config.update("jax_enable_x64", True)
  yield
  jax.config.update("jax_enable_x64", False)

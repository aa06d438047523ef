"""Tests run in float64 with rank promotion disallowed (see DESIGN.md)."""

import gc

import jax
import pytest

jax.config.update("jax_enable_x64", True)
jax.config.update("jax_numpy_rank_promotion", "raise")


@pytest.fixture(autouse=True, scope="module")
def _release_compiled_programs():
    """Drop the compiled programs of each test module when it is done.  XLA:CPU maps code
    memory per executable (~1000 mappings for a large one); a whole-suite run otherwise nears
    the kernel's vm.max_map_count (65530) and LLVM then crashes inside a later compile."""
    yield
    jax.clear_caches()
    gc.collect()

"""The benchmark scripts, for the tests that check their pages and helpers."""

import importlib
import sys
from pathlib import Path

BENCHMARKS = Path(__file__).parents[1] / "benchmarks"


def benchmark_module(name):
    """``benchmarks/<name>.py`` imported as a module (its own imports of the
    shared benchmark modules resolved)."""
    sys.path.insert(0, str(BENCHMARKS))
    try:
        return importlib.import_module(name)
    finally:
        sys.path.remove(str(BENCHMARKS))

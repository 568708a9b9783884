"""Run every gallery example as a script, as a user would.

Each runs in a fresh interpreter with matplotlib's Agg backend (matplotlib is
in the ``test`` extra), so a broken example fails the test suite and not only
the documentation build.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = sorted((Path(__file__).parents[1] / "examples").glob("plot_*.py"))


def run_example(path):
    env = {**os.environ, "MPLBACKEND": "Agg", "OMP_NUM_THREADS": "1"}
    result = subprocess.run(
        [sys.executable, str(path)],
        capture_output=True,
        text=True,
        env=env,
        cwd=path.parents[1],
        timeout=300,
    )
    assert result.returncode == 0, f"{path.name} failed:\n{result.stdout}\n{result.stderr}"
    return result.stdout


def test_examples_are_found():
    names = {path.name for path in EXAMPLES}
    assert "plot_quick_start.py" in names
    assert len(names) >= 6


def check_quick_start_table(stdout):
    """The README's main command must keep printing this table."""
    lines = stdout.splitlines()
    table = {line[:28].strip(): line[28:].strip() for line in lines if len(line) > 28}
    assert table["method"] == "test accuracy"
    for row in ("plain (noisy labels)", "MetaReweightClassifier"):
        assert 0.0 <= float(table[row]) <= 1.0
    assert any(line.startswith("mean example weight: corrupted rows") for line in lines)


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda path: path.stem)
def test_example_runs(path):
    stdout = run_example(path)
    assert stdout.strip(), f"{path.name} printed nothing"
    if path.name == "plot_quick_start.py":
        check_quick_start_table(stdout)


def test_quick_start_table_check_rejects_a_missing_row():
    with pytest.raises(KeyError):
        check_quick_start_table("method" + " " * 22 + "test accuracy\n")

"""The README's first snippet runs as pasted, and the README stays short."""

import re
from pathlib import Path

ROOT = Path(__file__).parents[1]
README = (ROOT / "README.md").read_text()


def test_readme_is_short():
    assert len(README) <= 8000, f"README.md is {len(README)} characters (at most 8,000)"


def test_readme_first_snippet_runs(capsys):
    code = re.search(r"```python\n(.*?)```", README, re.S).group(1)
    exec(compile(code, "README.md", "exec"), {"__name__": "__readme__"})
    out = capsys.readouterr().out
    accuracy = float(re.search(r"test accuracy: ([0-9.]+)", out).group(1))
    assert accuracy > 0.85, out
    assert "corrupted rows flagged" in out

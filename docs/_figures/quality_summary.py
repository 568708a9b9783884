"""Test accuracy under label noise: the defaults against the best baseline.

Drawn from the quality benchmark's saved results (``benchmarks/results``, the
page ``docs/benchmarks/quality.md``), nothing refitted. For the README's copy::

    python docs/_figures/quality_summary.py --save docs/_figures/quality_summary.png
"""

import json
import sys
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

# Run as a script, or by matplotlib's plot directive (no __file__; it runs
# the code from this folder).
ROOT = Path(globals().get("__file__", Path.cwd() / "quality_summary.py")).resolve().parents[2]
sys.path.insert(0, str(ROOT / "benchmarks"))
import quality  # noqa: E402

GROUPS = (
    ("development", ("noise", "risk", "trusted", "classweight")),
    ("held out", ("heldout", "heldout4")),
)


def _results():
    out = {}
    for path in sorted(quality.RESULTS.glob("*.json")):
        result = json.loads(path.read_text())
        if "spec" in result:
            out[result["scenario"]] = result
    return out


def _rows(results):
    rows = []
    for label, groups in GROUPS:
        chosen = [r for r in results.values() if r["spec"]["group"] in groups]
        chosen.sort(key=lambda r: quality._mean(r, "acc", "l2rw"))
        for r in chosen:
            best, best_mean = quality.best_baseline(r, quality.NOISE_METHODS)
            rows.append(
                (
                    label,
                    r["scenario"],
                    quality._mean(r, "acc", "plain"),
                    best,
                    best_mean,
                    quality._mean(r, "acc", "l2rw"),
                )
            )
    return rows


rows = _rows(_results())
fig, ax = plt.subplots(figsize=(8, 0.24 * len(rows) + 1.2), layout="constrained")
y = np.arange(len(rows))[::-1]
plain = np.array([r[2] for r in rows])
best = np.array([r[4] for r in rows])
ours = np.array([r[5] for r in rows])
ahead = ours >= best
ax.hlines(y, np.minimum(best, ours), np.maximum(best, ours), color="0.75", lw=2, zorder=1)
ax.scatter(plain, y, marker="|", s=60, color="0.55", label="plain training", zorder=2)
ax.scatter(
    best,
    y,
    facecolor="white",
    edgecolor="tab:orange",
    s=36,
    lw=1.5,
    label="best baseline (of 6)",
    zorder=3,
)
ax.scatter(ours[ahead], y[ahead], color="tab:blue", s=36, label="defaults, mean ahead", zorder=4)
ax.scatter(ours[~ahead], y[~ahead], color="tab:red", s=36, label="defaults, mean behind", zorder=4)
ax.set_yticks(y, [f"{r[1]}  ({r[3]})" for r in rows], fontsize=7)
split = sum(1 for r in rows if r[0] == "development")
ax.axhline(y[split - 1] - 0.5, color="0.3", lw=0.8, ls="--")
ax.text(
    0.01,
    y[split - 1] - 0.5,
    "development ↑   held out ↓",
    transform=ax.get_yaxis_transform(),
    fontsize=8,
    ha="left",
    va="center",
    backgroundcolor="white",
)
ax.set_xlabel("test accuracy on clean labels (mean of 5 seeds)")
ax.set_xlim(max(0.45, min(plain.min(), best.min()) - 0.02), 1.0)
ax.legend(loc="lower left", fontsize=7, frameon=True)
ax.set_title("Label noise: defaults against the best baseline (quality benchmark)", fontsize=10)

if "--save" in sys.argv:
    fig.savefig(sys.argv[sys.argv.index("--save") + 1], dpi=100)

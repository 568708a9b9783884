"""The weight of an example: how much its gradient agrees with the trusted set's."""

import matplotlib.pyplot as plt
import numpy as np

g_clean = np.array([1.0, 0.35])
examples = {
    "a": np.array([0.9, 0.6]),
    "b": np.array([0.5, -0.55]),
    "c": np.array([1.1, -0.1]),
    "d": np.array([-0.7, -0.45]),
    "e": np.array([-0.45, 0.85]),
}
raw = {k: max(float(g @ g_clean), 0.0) for k, g in examples.items()}
total = sum(raw.values())
weights = {k: v / total for k, v in raw.items()}

fig, (ax, bx) = plt.subplots(1, 2, figsize=(9, 3.8), layout="constrained")
ax.axline((0, 0), (-g_clean[1], g_clean[0]), color="0.7", lw=1, ls="--")
ax.text(-0.05, -0.85, "no agreement", color="0.5", fontsize=9, rotation=-71)
ax.annotate(
    "", xy=g_clean, xytext=(0, 0), arrowprops={"arrowstyle": "-|>", "lw": 3, "color": "black"}
)
ax.text(*(g_clean * 1.08), "trusted set", fontsize=10, ha="left")
for k, g in examples.items():
    colour = "tab:green" if weights[k] > 0 else "tab:red"
    ax.annotate("", xy=g, xytext=(0, 0), arrowprops={"arrowstyle": "-|>", "color": colour})
    ax.text(*(g * 1.12), k, fontsize=11, color=colour, ha="center", va="center")
ax.set_xlim(-1.1, 1.5)
ax.set_ylim(-0.9, 1.1)
ax.set_aspect("equal")
ax.set_xticks([])
ax.set_yticks([])
ax.set_title("gradients of five training examples")

names = list(examples)
bx.bar(
    names,
    [weights[k] for k in names],
    color=["tab:green" if weights[k] > 0 else "tab:red" for k in names],
)
bx.set_ylabel("weight in this batch")
bx.set_title("weight = max(agreement, 0), normalised")
for k in names:
    if weights[k] == 0:
        bx.text(k, 0.01, "0", ha="center", color="tab:red")

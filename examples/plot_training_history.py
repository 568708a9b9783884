"""
======================================
How the weights evolve during training
======================================

``history_`` (a skorch ``History``) has one row per epoch of the fit, whatever
its phase (``phase``: ``"warmup"``, ``"meta"`` or ``"refine"``), and records
what the reweighting did, averaged over the epoch's batches:

- ``train_loss``: the unweighted mean loss of the rows the epoch trains on (on
  the noisy labels, so it need not fall far);
- ``clean_loss``: the loss on the trusted set before each step -- the quantity
  the weights are chosen to lower;
- ``zero_weight_frac``: the share of the batch's rows given weight 0;
- ``ess_frac``: the effective sample size ``1 / sum(w_i^2)`` as a share of
  the batch (1 when all rows weigh the same, small when a few rows carry the
  step);
- ``all_zero_batches``: steps skipped because every weight was 0.

The weight figures exist in meta epochs only. This example first follows a
default fit through its three phases, then trains on the digits with clean
labels and with 40 % of them flipped, taking meta steps in every epoch: the
noisy run is trained one epoch per ``partial_fit`` call (which takes one meta
epoch), so that after each epoch ``example_weights_`` holds that epoch's
weights and the mean weight of the corrupted and of the correct rows can be
followed epoch by epoch; the clean run sets ``warmup_epochs=0,
refine_epochs=0``.
"""

# %%
import matplotlib.pyplot as plt
import numpy as np
import torch
from sklearn.datasets import load_digits
from sklearn.preprocessing import StandardScaler

from sk_l2rw import MetaReweightClassifier
from sk_l2rw.datasets import make_noisy_labels, split_trusted

torch.set_num_threads(1)
X, y = load_digits(return_X_y=True)
X = StandardScaler().fit_transform(X)
trusted = split_trusted(y, n_per_class=10, random_state=0)
y_noisy, corrupted = make_noisy_labels(y, noise_rate=0.4, random_state=0)
y_noisy = np.where(trusted, y, y_noisy)
corrupted &= ~trusted
EPOCHS = 30

# %%
# A default fit, phase by phase
# -----------------------------
# ``max_epochs`` is the budget of the whole fit: 35 % warm-up epochs, then
# meta epochs, then 50 % refinement epochs on the rows the network favoured
# (``kept_rows`` of them). Each phase is a run of skorch epochs, which any
# callback sees. (A default fit first runs a selection round, whose epochs are
# in ``selection_["histories"]``, and keeps either this reweighted fit or Gold
# Loss Correction, stopped early where the round's held-back rows say the
# budget overfits; ``fallback=None`` here shows the reweighted fit's phases.)
default = MetaReweightClassifier(max_epochs=EPOCHS, fallback=None, random_state=0)
default.fit(X, y_noisy, clean_mask=trusted)
phases = np.array(default.history_[:, "phase"])
print("epochs per phase:", {p: int((phases == p).sum()) for p in ("warmup", "meta", "refine")})
print("rows kept for the refinement:", default.history_[-1, "kept_rows"], "of", len(y))
fig, ax = plt.subplots(figsize=(7, 4), layout="constrained")
for key in ("train_loss", "clean_loss"):
    ax.plot(default.history_[:, "epoch"], default.history_[:, key], marker=".", label=key)
for phase, color in (("warmup", "0.9"), ("refine", "0.8")):
    epochs_in = np.flatnonzero(phases == phase) + 1
    ax.axvspan(epochs_in[0] - 0.5, epochs_in[-1] + 0.5, color=color, zorder=0)
    ax.text(epochs_in.mean(), ax.get_ylim()[1] * 0.95, phase, ha="center", va="top")
ax.set_xlabel("epoch")
ax.legend()
plt.show()

# %%
# ``train_loss`` is over the noisy labels: it rises in the meta epochs, which
# give the mislabelled rows weight 0, and drops when the refinement trains on
# the kept rows only. ``clean_loss``, on the trusted rows, keeps falling.
#
# Meta steps in every epoch
# -------------------------
clean = MetaReweightClassifier(
    max_epochs=EPOCHS, warmup_epochs=0, refine_epochs=0, fallback=None, random_state=0
)
clean.fit(X, y, clean_mask=trusted)

noisy = MetaReweightClassifier(random_state=0)
weight_corrupted, weight_correct = [], []
for _ in range(EPOCHS):
    noisy.partial_fit(X, y_noisy, clean_mask=trusted)
    weight_corrupted.append(noisy.example_weights_[corrupted].mean())
    weight_correct.append(noisy.example_weights_[~corrupted & ~trusted].mean())
histories = {"clean labels": clean.history_, "40 % noisy labels": noisy.history_}

# %%
# Per-epoch figures
# -----------------
# ``history_[:, key]`` gives one value per epoch; ``partial_fit`` appends one
# epoch per call.
keys = ["train_loss", "clean_loss", "zero_weight_frac", "ess_frac"]
fig, axes = plt.subplots(2, 2, figsize=(9, 6), sharex=True, layout="constrained")
for ax, key in zip(axes.ravel(), keys, strict=True):
    for label, history in histories.items():
        ax.plot(history[:, "epoch"], history[:, key], label=label)
    ax.set_title(key)
for ax in axes[1]:
    ax.set_xlabel("epoch")
axes[0, 0].legend()
plt.show()

# %%
# With noisy labels, a larger share of every batch gets weight 0 and, over
# most of training, the effective sample size is smaller: the network is trained on the rows that
# agree with the trusted set. Its unweighted loss on the noisy labels rises
# after a few epochs -- it stops fitting the wrong labels -- while the trusted
# loss falls as on clean data. Even on clean labels a share of rows gets
# weight 0, growing as training goes on. The last epoch in numbers:
last = {label: h[-1] for label, h in histories.items()}
print(f"{'':<18}" + "".join(f"{label:>20}" for label in last))
for key in keys + ["all_zero_batches"]:
    print(f"{key:<18}" + "".join(f"{row[key]:>20.3f}" for row in last.values()))

# %%
# Weights of corrupted and correct rows, epoch by epoch
# -----------------------------------------------------
# 1.0 is the weight every row would get in plain training.
epochs = np.arange(1, EPOCHS + 1)
fig, ax = plt.subplots(figsize=(7, 4), layout="constrained")
ax.plot(epochs, weight_correct, marker=".", label="correct label")
ax.plot(epochs, weight_corrupted, marker=".", label="corrupted label")
ax.axhline(1.0, color="0.6", lw=1, ls="--")
ax.set_xlabel("epoch")
ax.set_ylabel("mean example weight in the epoch")
ax.legend()
plt.show()

# %%
# The corrupted rows get a small weight from the first epoch on, and it falls
# further while the network fits the trusted set. Once the trusted loss is
# close to 0 its gradient is small, the weights get noisier, and corrupted
# rows regain some weight -- still far below the correct rows'.

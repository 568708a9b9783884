"""
==================================================
Finding mislabelled rows with ``example_weights_``
==================================================

After fitting, :class:`~sk_l2rw.MetaReweightClassifier` holds one weight per
training row in ``example_weights_``: the mean over epochs of the weight the
row got in its batch in the meta-reweighted epochs, scaled so that 1.0 means
"weighted as in plain training"
and 0 means "never trained on". Rows whose gradient pulls against the trusted
set's -- most often mislabelled rows -- end up near 0, so sorting by weight is
a way to find label errors.

The fitted estimator also has ``label_quality_``: for each row, its *label
margin* (the probability of the given label minus that of the likeliest
other class) at the row's own training steps, averaged over the epochs. A
network learns what most rows share before it memorises the odd ones out,
and the meta step gives mislabelled rows weight 0, so a mislabelled row's
margin stays low.

Here 30 % of the digits labels are flipped at random and both scores are
compared with cleanlab's label-quality scores, computed from out-of-fold
probabilities of a logistic regression (cleanlab is model-agnostic; it is an
optional dependency, installed with ``pip install sk_l2rw[docs]`` or
``sk_l2rw[benchmark]``).
"""

# %%
import matplotlib.pyplot as plt
import numpy as np
import torch
from sklearn.datasets import load_digits
from sklearn.metrics import roc_auc_score
from sklearn.preprocessing import StandardScaler

from sk_l2rw import MetaReweightClassifier
from sk_l2rw.datasets import make_noisy_labels, split_trusted

torch.set_num_threads(1)
digits = load_digits()
X = StandardScaler().fit_transform(digits.data)
y_true = digits.target

y_noisy, corrupted = make_noisy_labels(y_true, noise_rate=0.3, random_state=0)
trusted = split_trusted(y_true, n_per_class=10, random_state=0)
y_noisy = np.where(trusted, y_true, y_noisy)
corrupted &= ~trusted

clf = MetaReweightClassifier(max_epochs=30, random_state=0)
clf.fit(X, y_noisy, clean_mask=trusted)
weights = clf.example_weights_

# %%
# Weights of corrupted and correct rows
# -------------------------------------
# The trusted rows are left out: their labels are known to be right.
untrusted = ~trusted
fig, ax = plt.subplots(figsize=(7, 4), layout="constrained")
bins = np.linspace(0, weights[untrusted].max(), 40)
ax.hist(weights[untrusted & ~corrupted], bins=bins, alpha=0.6, label="correct label")
ax.hist(weights[untrusted & corrupted], bins=bins, alpha=0.6, label="corrupted label")
ax.set_xlabel("example_weights_ (1 = weighted as in plain training)")
ax.set_ylabel("rows")
ax.legend()
plt.show()

# %%
# The lowest-weight rows
# ----------------------
# The 12 untrusted rows with the smallest weights, with the label they were
# given and their true label.
rows = np.flatnonzero(untrusted)
lowest = rows[np.argsort(weights[rows], kind="stable")[:12]]
fig, axes = plt.subplots(2, 6, figsize=(9, 3.6), layout="constrained")
for ax, i in zip(axes.ravel(), lowest, strict=True):
    ax.imshow(digits.images[i], cmap="gray_r")
    colour = "tab:red" if corrupted[i] else "tab:green"
    ax.set_title(f"given {y_noisy[i]}, true {y_true[i]}", fontsize=9, color=colour)
    ax.set_axis_off()
plt.show()
print(f"{int(corrupted[lowest].sum())} of the 12 lowest-weight rows have a corrupted label")

# %%
# Next to cleanlab
# ----------------
# Each score ranks rows from "probably mislabelled" to "probably fine". The
# AUROC of separating corrupted from correct rows and the precision among the
# ``k`` lowest-ranked rows (``k`` = number of corrupted rows) measure how well.
# cleanlab needs out-of-fold predicted probabilities; a logistic regression
# gives them in a second.
from sklearn.linear_model import LogisticRegression  # noqa: E402
from sklearn.model_selection import cross_val_predict  # noqa: E402


def precision_at_k(score, is_bad):
    """Share of corrupted rows among the ``k`` lowest scores."""
    k = int(is_bad.sum())
    return is_bad[np.argsort(score, kind="stable")[:k]].mean()


scores = {
    "example_weights_": weights[untrusted],
    "label_quality_": clf.label_quality_[untrusted],
}
try:
    from cleanlab.rank import get_label_quality_scores
except ImportError:
    print("cleanlab is not installed: pip install cleanlab to compare with it")
else:
    pred_probs = cross_val_predict(
        LogisticRegression(max_iter=1000), X, y_noisy, cv=5, method="predict_proba"
    )
    quality = get_label_quality_scores(y_noisy, pred_probs)
    scores["cleanlab label quality"] = quality[untrusted]

is_bad = corrupted[untrusted]
print(f"{'score':<26}{'AUROC':>8}{'precision@k':>14}")
for name, score in scores.items():
    auroc = roc_auc_score(is_bad, -score)  # low score = corrupted
    print(f"{name:<26}{auroc:>8.3f}{precision_at_k(score, is_bad):>14.3f}")

# %%
# When to use which: cleanlab finds label issues from any model's
# out-of-fold probabilities and needs no trusted rows; it is the tool to
# clean a data set before training. ``example_weights_`` and
# ``label_quality_`` come with the trained network at no extra cost, use the
# trusted set, and the network itself was already trained without most of the
# rows they flag. ``example_weights_`` says what training did with each row;
# ``label_quality_`` is the sharper ranking of suspect labels, here and in the
# quality benchmark.

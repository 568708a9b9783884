"""
=======================================================
Model selection on trusted rows with ``trusted_scorer``
=======================================================

``GridSearchCV`` scores every test fold on its labels. When 40 % of those
labels are wrong, the scores it reports are off by about that much, and the
candidate it picks is the one that agrees best with labels that are partly
noise. :func:`~sk_l2rw.model_selection.trusted_scorer` scores each test fold
on its trusted rows instead -- the rows that ``clean_mask`` marks, the same
mask the classifier is fitted with -- and
:class:`~sk_l2rw.model_selection.TrustedStratifiedKFold` puts trusted rows of
every class in every fold. Both receive the mask by metadata routing, so
``search.fit(X, y, clean_mask=mask)`` is the one place it is given.

One search computes both scores from the same fits (a multi-metric
``scoring`` dict); each candidate is then fitted on the whole training set
and scored on clean test labels, which a user would not have, to see which
pick was right.
"""

# %%
import matplotlib.pyplot as plt
import numpy as np
import torch
from sklearn import config_context
from sklearn.datasets import load_digits
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.preprocessing import StandardScaler

from sk_l2rw import MetaReweightClassifier
from sk_l2rw.datasets import make_noisy_labels, split_trusted
from sk_l2rw.model_selection import TrustedStratifiedKFold, trusted_scorer

torch.set_num_threads(1)
X, y = load_digits(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(
    X, y, test_size=0.25, stratify=y, random_state=0
)
scaler = StandardScaler().fit(X_train)
X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)
y_noisy, _ = make_noisy_labels(y_train, noise_rate=0.4, random_state=0)
trusted = split_trusted(y_train, n_per_class=10, random_state=0)  # 100 rows
y_noisy = np.where(trusted, y_train, y_noisy)

# %%
# One search, two scores
# ----------------------
# ``"accuracy"`` is what ``GridSearchCV`` uses by default: accuracy on the
# fold's labels, noisy ones included. ``trusted_scorer()`` is accuracy on the
# fold's trusted rows. The classifier, the scorer and the splitter all
# request the mask by default (``set_fit_request`` below only says so).
param_grid = {"lr": [3e-4, 3e-3], "max_epochs": [10, 40]}
with config_context(enable_metadata_routing=True):
    clf = MetaReweightClassifier(hidden_layer_sizes=(256,), random_state=0)
    search = GridSearchCV(
        clf.set_fit_request(clean_mask=True),
        param_grid,
        scoring={"default": "accuracy", "trusted": trusted_scorer()},
        cv=TrustedStratifiedKFold(3, shuffle=True, random_state=0),
        refit=False,
    )
    search.fit(X_train, y_noisy, clean_mask=trusted)
results = search.cv_results_

# %%
# What each pick is worth on clean labels
# ---------------------------------------
test_accuracy = np.array(
    [
        MetaReweightClassifier(hidden_layer_sizes=(256,), random_state=0, **params)
        .fit(X_train, y_noisy, clean_mask=trusted)
        .score(X_test, y_test)
        for params in results["params"]
    ]
)
picks = {name: int(np.argmin(results[f"rank_test_{name}"])) for name in ("default", "trusted")}
print(f"{'candidate':<34}{'default CV':>12}{'trusted CV':>12}{'clean test':>12}")
for i, params in enumerate(results["params"]):
    mark = "".join(f"  <- {name} pick" for name, pick in picks.items() if pick == i)
    print(
        f"{str(params):<34}{results['mean_test_default'][i]:>12.3f}"
        f"{results['mean_test_trusted'][i]:>12.3f}{test_accuracy[i]:>12.3f}{mark}"
    )
for name, pick in picks.items():
    print(
        f"{name} scoring picks {results['params'][pick]}: reports "
        f"{results[f'mean_test_{name}'][pick]:.3f}, clean test accuracy {test_accuracy[pick]:.3f}"
    )

# %%
# The default scores sit far below the clean accuracy -- they count every
# correct prediction on a wrong label as an error -- while the trusted-row
# scores are estimates of it, from about 33 trusted rows per fold. The
# benchmark (``docs/benchmarks/selection.md``) measures both rules over more scenarios and
# seeds: how close each estimate is, and how good each pick is.
fig, ax = plt.subplots(figsize=(5, 4))
for name, marker in (("default", "o"), ("trusted", "s")):
    ax.scatter(test_accuracy, results[f"mean_test_{name}"], marker=marker, label=f"{name} CV")
lims = [0.4, 1.0]
ax.plot(lims, lims, color="grey", lw=0.8)
ax.set(xlim=lims, ylim=lims, xlabel="clean test accuracy", ylabel="CV score")
ax.legend()
fig.tight_layout()
plt.show()

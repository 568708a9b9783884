"""
====================================================================
Pipeline and GridSearchCV with trusted rows marked by ``clean_mask``
====================================================================

The trusted set can reach :class:`~sk_l2rw.MetaReweightClassifier` in two ways:

- ``clean_val=(X_clean, y_clean)``: separate rows. Inside a ``Pipeline`` they
  would skip the transformers before the classifier, so they are for plain use.
- ``clean_mask``: a boolean mask over the rows of ``X``. It is a per-row
  argument, so cross-validation slices it with ``X`` and a ``Pipeline`` hands
  it to the classifier together with the transformed ``X``.

This example tunes the hidden width in a ``StandardScaler`` +
``MetaReweightClassifier`` pipeline with ``GridSearchCV``, passing the mask
both ways scikit-learn allows: as a step-prefixed fit parameter, and through
metadata routing.
"""

# %%
import numpy as np
import torch
from sklearn import config_context
from sklearn.datasets import load_digits
from sklearn.model_selection import GridSearchCV, StratifiedKFold, train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from sk_l2rw import MetaReweightClassifier
from sk_l2rw.datasets import make_noisy_labels, split_trusted

torch.set_num_threads(1)
X, y = load_digits(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.3, stratify=y, random_state=0)
y_noisy, _ = make_noisy_labels(y_train, noise_rate=0.3, random_state=0)
trusted = split_trusted(y_train, n_per_class=10, random_state=0)
y_noisy = np.where(trusted, y_train, y_noisy)

param_grid = {"clf__hidden_layer_sizes": [(32,), (128,)]}
cv = StratifiedKFold(n_splits=3, shuffle=True, random_state=0)


def make_pipeline():
    return Pipeline(
        [
            ("scale", StandardScaler()),
            ("clf", MetaReweightClassifier(max_epochs=15, random_state=0)),
        ]
    )


# %%
# 1. A step-prefixed fit parameter
# --------------------------------
# ``clf__clean_mask`` goes to the step named ``clf``; ``GridSearchCV`` slices it
# for every training fold like ``X`` and ``y``.
search = GridSearchCV(make_pipeline(), param_grid, cv=cv)
search.fit(X_train, y_noisy, clf__clean_mask=trusted)
print("fit parameter:   ", search.best_params_, f"test accuracy {search.score(X_test, y_test):.3f}")

# %%
# 2. Metadata routing
# -------------------
# With routing enabled, every meta-estimator passes metadata along to the
# steps that request it, whatever the nesting. The classifier requests
# ``clean_mask`` by default (it is its own metadata); ``set_fit_request``
# states it explicitly, or declines it with ``clean_mask=False``.
# ``config_context`` keeps the setting local to this block; a script
# would usually call ``sklearn.set_config(enable_metadata_routing=True)`` once.
with config_context(enable_metadata_routing=True):
    pipe = make_pipeline()
    pipe.named_steps["clf"].set_fit_request(clean_mask=True)
    routed = GridSearchCV(pipe, param_grid, cv=cv)
    routed.fit(X_train, y_noisy, clean_mask=trusted)
print("metadata routing:", routed.best_params_, f"test accuracy {routed.score(X_test, y_test):.3f}")

# %%
# Both give the same search, fold for fold:
print(np.allclose(search.cv_results_["mean_test_score"], routed.cv_results_["mean_test_score"]))

# %%
# A word on the scores: the validation folds carry the *noisy* labels, so the
# cross-validated accuracy underestimates the true one. Under uniform label
# noise the expected noisy accuracy is an increasing function of the true
# accuracy, so the ranking of the candidates -- what the search needs -- is
# still right on average; the test accuracy above is on clean labels.

"""
==========================================================================
Mixed numeric and categorical data: a sparse one-hot pipeline, end to end
==========================================================================

Tabular data come as a table of numbers and categories, with gaps. The usual
scikit-learn recipe -- a ``ColumnTransformer`` that imputes, scales the
numeric columns and one-hot encodes the categorical ones -- hands the
classifier a SciPy sparse matrix, which
:class:`~sk_l2rw.MetaReweightClassifier` takes as it is: rows are densified a
batch at a time, never the whole matrix.

The data are the Palmer penguins (344 birds of 3 species; bill, flipper and
body measurements; island and sex as categories; some values missing),
bundled by the ``palmerpenguins`` package. We flip 30 % of the training
labels to the next species and trust 8 rows per species, marked by
``clean_mask`` so that they go through the transformers with the rest. A
``GridSearchCV`` with :class:`~sk_l2rw.model_selection.TrustedStratifiedKFold`
and :func:`~sk_l2rw.model_selection.trusted_scorer` then picks the
network's width by accuracy on the trusted rows of each fold, rather than on
the noisy labels, and rows can carry ``sample_weight``.
"""

# %%
import matplotlib.pyplot as plt
import numpy as np
import sklearn
import torch
from palmerpenguins import load_penguins
from scipy import sparse
from sklearn.compose import make_column_transformer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from sk_l2rw import MetaReweightClassifier
from sk_l2rw.datasets import make_noisy_labels, split_trusted
from sk_l2rw.model_selection import TrustedStratifiedKFold, trusted_scorer

torch.set_num_threads(1)
penguins = load_penguins()
y_all = penguins.pop("species").to_numpy()
numeric = ["bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g"]
categorical = ["island", "sex", "year"]
X_train, X_test, y_train, y_test = train_test_split(
    penguins, y_all, test_size=0.3, stratify=y_all, random_state=0
)
y_noisy, flipped = make_noisy_labels(y_train, noise_rate=0.3, kind="pair", random_state=0)
trusted = split_trusted(y_train, n_per_class=8, random_state=0)
y_noisy = np.where(trusted, y_train, y_noisy)
print(f"{len(y_train)} training rows, {flipped[~trusted].mean():.0%} of the untrusted labels wrong")


# %%
# The preprocessing
# -----------------
# ``sparse_threshold=1.0`` keeps the output sparse whatever its density (the
# default, 0.3, would make this small table dense); a wide one-hot encoding is
# sparse either way.
def make_preprocess(scaler=None):
    return make_column_transformer(
        (make_pipeline(SimpleImputer(strategy="median"), scaler or StandardScaler()), numeric),
        (
            make_pipeline(
                SimpleImputer(strategy="most_frequent"), OneHotEncoder(handle_unknown="ignore")
            ),
            categorical,
        ),
        sparse_threshold=1.0,
    )


preprocess = make_preprocess()
Xt = preprocess.fit_transform(X_train)
print(f"transformed: {type(Xt).__name__} of shape {Xt.shape}, sparse: {sparse.issparse(Xt)}")

# %%
# Plain training against reweighting
# ----------------------------------
# A logistic regression on the noisy labels, the same on the trusted rows
# alone, and the reweighting network. With a few hundred rows an epoch is two
# optimizer steps; the default budget (``max_epochs="auto"``) would give 500
# epochs (1,000 steps), and 150 are enough here, which keeps the grid search
# below quick.
methods = {
    "logistic regression, noisy labels": make_pipeline(preprocess, LogisticRegression()),
    "logistic regression, trusted rows only": make_pipeline(preprocess, LogisticRegression()),
    "MetaReweightClassifier": make_pipeline(
        preprocess, MetaReweightClassifier(max_epochs=150, random_state=0)
    ),
}
scores = {}
for name, model in methods.items():
    if "trusted rows only" in name:
        model.fit(X_train[trusted], y_noisy[trusted])
    elif "MetaReweight" in name:
        model.fit(X_train, y_noisy, metareweightclassifier__clean_mask=trusted)
    else:
        model.fit(X_train, y_noisy)
    scores[name] = model.score(X_test, y_test)
    print(f"{name:40s} test accuracy {scores[name]:.3f}")

# %%
# Penguin species are easy to tell apart: a linear model on the 24 trusted
# rows alone is hard to beat here, and the reweighting network, trained on
# every row, is in its range while plain training on the noisy labels falls
# behind. Reweighting earns its keep where the trusted rows are too few to
# learn from alone (the quality benchmark's scenarios, in the docs).
#
# The rows the reweighting distrusts are the flipped ones: their label
# quality (the network's margin for the given label during training) is low.
clf = methods["MetaReweightClassifier"][-1]
quality = clf.label_quality_
print(
    f"mean label_quality_: flipped rows {quality[flipped].mean():.2f}, "
    f"correct rows {quality[~flipped].mean():.2f}"
)

fig, ax = plt.subplots(figsize=(6, 3))
ax.hist([quality[~flipped], quality[flipped]], bins=20, label=["correct label", "flipped label"])
ax.set_xlabel("label_quality_")
ax.set_ylabel("training rows")
ax.legend()
fig.tight_layout()

# %%
# Model selection on the trusted rows, with sample weights
# --------------------------------------------------------
# With metadata routing the mask is given once and reaches both the
# classifier and the scorer; ``TrustedStratifiedKFold`` puts trusted rows of
# every species in every fold. Here the birds measured in 2009 count double
# (``sample_weight``, routed the same way): each row's loss is multiplied by
# its weight in every phase of the fit, and the scorer weights the trusted
# rows' accuracy. Each consumer of ``sample_weight`` says whether it wants it;
# the scaler does not.
weight = np.where(X_train["year"] == 2009, 2.0, 1.0)
with sklearn.config_context(enable_metadata_routing=True):
    net = MetaReweightClassifier(max_epochs=150, random_state=0).set_fit_request(
        clean_mask=True, sample_weight=True
    )
    scaler = StandardScaler().set_fit_request(sample_weight=False)
    search = GridSearchCV(
        make_pipeline(make_preprocess(scaler), net),
        {"metareweightclassifier__hidden_layer_sizes": [(32,), (100,)]},
        scoring=trusted_scorer().set_score_request(sample_weight=True),
        cv=TrustedStratifiedKFold(n_splits=3, shuffle=True, random_state=0),
    )
    search.fit(X_train, y_noisy, clean_mask=trusted, sample_weight=weight)
print("picked:", search.best_params_)
print("trusted-row accuracy per candidate:", np.round(search.cv_results_["mean_test_score"], 3))
# The search scores with the trusted scorer; the clean test set is scored plainly.
print(f"test accuracy of the refitted pick: {search.best_estimator_.score(X_test, y_test):.3f}")

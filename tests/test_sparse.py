"""Sparse input: the same fit as dense input, densified a batch at a time."""

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
import torch
from sklearn.compose import make_column_transformer
from sklearn.datasets import make_classification, make_regression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from sk_l2rw import MetaReweightClassifier, MetaReweightRegressor
from sk_l2rw.datasets import make_noisy_labels

torch.set_num_threads(1)

SMALL = dict(hidden_layer_sizes=(16,), max_epochs=6, batch_size=64, random_state=0)


def _data(task, n=300, d=40):
    if task == "classification":
        X, y = make_classification(n, d, n_informative=8, n_classes=3, random_state=0)
    else:
        X, y = make_regression(n, d, n_informative=8, noise=1.0, random_state=0)
    # Mostly zeros, as one-hot data are.
    X = np.where(np.random.RandomState(1).rand(*X.shape) < 0.8, 0.0, X)
    trusted = np.arange(n) % 10 == 0
    return X, y, trusted


ESTIMATORS = {"classification": MetaReweightClassifier, "regression": MetaReweightRegressor}


def _output(est, X):
    return est.predict_proba(X) if hasattr(est, "predict_proba") else est.predict(X)


@pytest.mark.parametrize("task", ESTIMATORS)
@pytest.mark.parametrize("route", ["clean_mask", "clean_val"])
@pytest.mark.parametrize("fallback", ["auto", None])
def test_sparse_fit_equals_dense_fit(task, route, fallback):
    X, y, trusted = _data(task)
    est = ESTIMATORS[task]
    fits = []
    for to in (np.asarray, sp.csr_matrix):
        if route == "clean_mask":
            kwargs = dict(clean_mask=trusted)
            X_fit, y_fit = to(X), y
        else:
            kwargs = dict(clean_val=(to(X[trusted]), y[trusted]))
            X_fit, y_fit = to(X[~trusted]), y[~trusted]
        fits.append(est(fallback=fallback, **SMALL).fit(X_fit, y_fit, **kwargs))
    dense, sparse = fits
    np.testing.assert_allclose(_output(sparse, sp.csr_matrix(X)), _output(dense, X), atol=1e-6)
    np.testing.assert_allclose(sparse.example_weights_, dense.example_weights_, atol=1e-6)
    assert sparse.selected_ == dense.selected_
    # Either kind of input predicts with either model.
    np.testing.assert_allclose(_output(dense, sp.csr_matrix(X)), _output(dense, X), atol=1e-6)


@pytest.mark.parametrize(
    "to",
    [sp.csc_matrix, sp.coo_matrix, sp.csr_array, sp.csc_array],
    ids=lambda f: f.__name__,
)
def test_other_sparse_formats_are_accepted(to):
    X, y, trusted = _data("classification")
    dense = MetaReweightClassifier(**SMALL).fit(X, y, clean_mask=trusted)
    other = MetaReweightClassifier(**SMALL).fit(to(X), y, clean_mask=trusted)
    np.testing.assert_allclose(other.predict_proba(to(X)), dense.predict_proba(X), atol=1e-6)


def test_partial_fit_takes_sparse_rows():
    X, y, trusted = _data("classification")
    clf = MetaReweightClassifier(**SMALL)
    for rows in np.array_split(np.arange(len(y)), 3):
        clf.partial_fit(
            sp.csr_matrix(X[rows]), y[rows], classes=[0, 1, 2], clean_mask=trusted[rows]
        )
    assert clf.predict(sp.csr_matrix(X)).shape == (len(y),)
    assert len(clf.history_) == 3


def test_a_sparse_matrix_is_densified_a_batch_at_a_time(monkeypatch):
    """No call densifies more rows than a batch, the evaluation chunk or the
    trusted set: never the whole matrix."""
    X, y, trusted = _data("classification", n=3000, d=60)
    densified = []
    toarray = sp.csr_matrix.toarray

    def spy(self, *args, **kwargs):
        densified.append(self.shape[0])
        return toarray(self, *args, **kwargs)

    monkeypatch.setattr(sp.csr_matrix, "toarray", spy)
    clf = MetaReweightClassifier(hidden_layer_sizes=(8,), max_epochs=3, random_state=0)
    clf.fit(sp.csr_matrix(X), y, clean_mask=trusted).predict(sp.csr_matrix(X))
    assert densified, "the spy saw no densification"
    assert max(densified) <= max(clf.batch_size, clf.net_._eval_chunk, trusted.sum()) < len(y)


def _mixed_frame(n=600, seed=0):
    """Mixed data with a few hundred one-hot columns: two numeric columns and
    three categorical ones of 150, 100 and 4 levels; the label depends on both."""
    rng = np.random.RandomState(seed)
    df = pd.DataFrame(
        {
            "age": rng.normal(40, 10, n),
            "income": rng.lognormal(3, 0.5, n),
            "city": rng.randint(0, 150, n).astype(str),
            "shop": rng.randint(0, 100, n).astype(str),
            "tier": rng.choice(["a", "b", "c", "d"], n),
        }
    )
    score = (df["age"] - 40) / 10 + np.where(df["tier"].isin(["a", "b"]), 1.5, -1.5)
    y = (score + rng.normal(0, 0.5, n) > 0).astype(int)
    return df, y


def test_sparse_one_hot_pipeline_from_the_issue():
    df, y = _mixed_frame()
    y_noisy, _ = make_noisy_labels(y, noise_rate=0.2, random_state=0)
    trusted = np.arange(len(y)) % 15 == 0
    y_noisy[trusted] = y[trusted]
    ct = make_column_transformer(
        (OneHotEncoder(handle_unknown="ignore"), ["city", "shop", "tier"]),
        (StandardScaler(), ["age", "income"]),
    )
    assert sp.issparse(ct.fit_transform(df)) and ct.fit_transform(df).shape[1] > 200
    pipe = make_pipeline(ct, MetaReweightClassifier(max_epochs=20, random_state=0))
    pipe.fit(df, y_noisy, metareweightclassifier__clean_mask=trusted)
    clf = pipe[-1]
    assert clf.n_features_in_ == ct.transform(df).shape[1]
    test_df, test_y = _mixed_frame(seed=1)
    # The true labels of new data, from noisy training labels: well above chance.
    assert pipe.score(test_df, test_y) > 0.8
    assert np.isfinite(clf.example_weights_).all()


def test_sparse_input_through_both_exact_meta_methods():
    """Sparse input gives the same fit through the fast and the general path."""
    X, y, trusted = _data("classification")
    outs = [
        MetaReweightClassifier(meta_method=m, fallback=None, **SMALL)
        .fit(sp.csr_matrix(X), y, clean_mask=trusted)
        .predict_proba(X)
        for m in ("fast", "general")
    ]
    np.testing.assert_allclose(outs[0], outs[1], atol=1e-4)


def test_carried_check_on_sparse_input_equals_dense():
    """ReweightedClassifier's check on the posterior of each held-back row's
    true label (from the fold reweighter's probabilities) takes sparse input
    and scores every way, and compares the fold networks with the estimator
    as given, as on the same rows dense."""
    from sklearn.linear_model import LogisticRegression

    from sk_l2rw import ReweightedClassifier

    X, y, trusted = _data("classification")
    y_noisy, _ = make_noisy_labels(y, noise_rate=0.3, random_state=0)
    y_noisy = np.where(trusted, y, y_noisy)
    checks = [
        ReweightedClassifier(
            LogisticRegression(),
            reweighter=MetaReweightClassifier(**SMALL),
            check_score="posterior",
            random_state=0,
        )
        .fit(to(X), y_noisy, clean_mask=trusted)
        .carry_check_
        for to in (np.asarray, sp.csr_matrix)
    ]
    dense, sparse = checks
    assert sparse["score"] == dense["score"] == "posterior"
    assert sparse["agreement"] == pytest.approx(dense["agreement"], abs=1e-6)
    assert sparse["scores"].keys() == dense["scores"].keys()
    for way, score in dense["scores"].items():
        assert sparse["scores"][way] == pytest.approx(score, abs=1e-6)

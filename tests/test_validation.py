"""Bad input gives a ValueError/TypeError naming the argument and what was expected."""

import numpy as np
import pytest
import scipy.sparse as sp
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from torch import nn

from sk_l2rw import MLP, MetaReweightClassifier
from sk_l2rw._base import _check_clean_mask
from sk_l2rw._meta import meta_step

TINY = dict(hidden_layer_sizes=(8,), max_epochs=2, batch_size=16, lr=0.01, random_state=0)


@pytest.fixture(scope="module")
def data():
    rng = np.random.RandomState(0)
    X = rng.randn(60, 6)
    y = np.arange(60) % 3
    return X, y, (X[:6], y[:6])


def _with(X, row, col, value):
    X = np.array(X, dtype=float)
    X[row, col] = value
    return X


@pytest.mark.parametrize(
    "make, error, match",
    [
        (lambda X, y: (_with(X, 0, 0, np.nan), y), ValueError, "Input X contains NaN"),
        (lambda X, y: (_with(X, 3, 2, np.inf), y), ValueError, "Input X contains infinity"),
        (
            lambda X, y: (X, np.where(np.arange(len(y)) == 0, np.nan, y)),
            ValueError,
            "y contains NaN",
        ),
        (
            lambda X, y: (X, np.where(np.arange(len(y)) == 0, np.inf, y)),
            ValueError,
            "y contains inf",
        ),
        (lambda X, y: (X[:, 0], y), ValueError, "Expected 2D array, got 1D array"),
        (lambda X, y: (X[:, :, None], y), ValueError, "Found array with dim 3"),
        (lambda X, y: (X[:0], y[:0]), ValueError, "Found array with 0 sample"),
        (lambda X, y: (X[:, :0], y), ValueError, "0 feature"),
        (lambda X, y: (X, y[:-1]), ValueError, "inconsistent numbers of samples"),
        (lambda X, y: (X, np.c_[y, y]), ValueError, "y should be a 1d array"),
        (lambda X, y: (X, np.linspace(0, 1, len(y))), ValueError, "Unknown label type: continuous"),
        (lambda X, y: (X, np.zeros(len(y))), ValueError, "at least 2 classes; got 1 class"),
        (lambda X, y: (sp.csr_matrix(np.full(X.shape, np.nan)), y), ValueError, "X contains NaN"),
        (lambda X, y: (np.full(X.shape, "a"), y), ValueError, "X must be numeric"),
        (lambda X, y: (X.astype(complex), y), ValueError, "Complex data not supported"),
    ],
    ids=[
        "nan_X",
        "inf_X",
        "nan_y",
        "inf_y",
        "1d_X",
        "3d_X",
        "empty_X",
        "no_features",
        "length_mismatch",
        "2d_y",
        "continuous_y",
        "single_class",
        "nan_sparse_X",
        "string_X",
        "complex_X",
    ],
)
def test_bad_X_or_y(data, make, error, match):
    X, y, clean = data
    X_bad, y_bad = make(X, y)
    with pytest.raises(error, match=match):
        MetaReweightClassifier(**TINY).fit(X_bad, y_bad, clean_val=clean)


def test_numeric_object_X_is_accepted(data):
    X, y, clean = data
    clf = MetaReweightClassifier(**TINY).fit(X.astype(object), y, clean_val=clean)
    assert clf.predict(X).shape == (len(X),)


@pytest.mark.parametrize(
    "clean_val, error, match",
    [
        ((np.zeros((3, 6)),), TypeError, r"clean_val must be a pair .* of length 1"),
        ((np.zeros((3, 6)), [0, 1, 2], None), TypeError, "of length 3"),
        (np.zeros((3, 6)), TypeError, "clean_val must be a pair"),
        ({"X": 1, "y": 2}, TypeError, "clean_val must be a pair"),
        ((np.full((3, 6), np.nan), [0, 1, 2]), ValueError, r"clean_val\[0\].*NaN"),
        ((np.full((3, 6), np.inf), [0, 1, 2]), ValueError, r"clean_val\[0\].*infinity"),
        ((np.zeros((3, 5)), [0, 1, 2]), ValueError, r"clean_val\[0\].*5 features.*expecting 6"),
        ((np.zeros(6), [0]), ValueError, r"clean_val\[0\].*Expected 2D array"),
        ((np.zeros((0, 6)), []), ValueError, r"clean_val\[0\].*0 sample"),
        ((sp.csr_matrix(np.zeros((3, 5))), [0, 1, 2]), ValueError, r"clean_val\[0\].*5 features"),
        ((np.full((3, 6), "a"), [0, 1, 2]), ValueError, r"clean_val\[0\].*must be numeric"),
        (
            (np.zeros((3, 6)), [0, 1, np.nan]),
            ValueError,
            r"clean_val\[1\] \(y_clean\) contains NaN",
        ),
        ((np.zeros((3, 6)), [0, 1]), ValueError, r"clean_val\[1\].*one label per row.*\(3\)"),
        ((np.zeros((3, 6)), [[0], [1], [2]]), ValueError, r"clean_val\[1\].*must be 1-D"),
        ((np.zeros((3, 6)), [0, 1, 7]), ValueError, r"not seen in y: \[7\].*\[0, 1, 2\]"),
        ((np.zeros((3, 6)), ["a", "b", "c"]), ValueError, r"not seen in y: \['a', 'b', 'c'\]"),
    ],
)
def test_bad_clean_val(data, clean_val, error, match):
    X, y, _ = data
    with pytest.raises(error, match=match):
        MetaReweightClassifier(**TINY).fit(X, y, clean_val=clean_val)


@pytest.mark.parametrize(
    "make_mask, error, match",
    [
        (lambda n: np.ones(n), TypeError, "clean_mask must be a boolean array; got dtype float"),
        (
            lambda n: np.arange(n) % 2,
            TypeError,
            "clean_mask must be a boolean array; got dtype int",
        ),
        (lambda n: np.ones(n - 1, bool), ValueError, r"one entry per row of X \(60\); got shape"),
        (lambda n: np.ones((n, 1), bool), ValueError, r"one entry per row of X .*\(60, 1\)"),
        (lambda n: np.zeros(n, bool), ValueError, "marks no row as trusted"),
        (lambda n: np.ones(n, bool), ValueError, "marks every row as trusted"),
        (lambda n: np.full(n, np.nan), ValueError, "clean_mask contains NaN"),
    ],
)
def test_bad_clean_mask(data, make_mask, error, match):
    X, y, _ = data
    with pytest.raises(error, match=match):
        MetaReweightClassifier(**TINY).fit(X, y, clean_mask=make_mask(len(X)))


def test_clean_mask_and_clean_val_together(data):
    X, y, clean = data
    with pytest.raises(ValueError, match="either clean_val or clean_mask, not both"):
        MetaReweightClassifier(**TINY).fit(X, y, clean_val=clean, clean_mask=np.arange(60) < 6)


def test_clean_mask_as_list(data):
    X, y, _ = data
    clf = MetaReweightClassifier(**TINY).fit(X, y, clean_mask=list(np.arange(60) < 6))
    assert np.isfinite(clf.example_weights_).all()


def test_trusted_set_missing_classes_warns(data):
    # A documented decision: a warning, not an error (see the class Notes).
    X, y, _ = data
    with pytest.warns(UserWarning, match=r"\(clean_val\) has no rows of classes \[1, 2\]"):
        MetaReweightClassifier(**TINY).fit(X, y, clean_val=(X[:1], y[:1]))
    with pytest.warns(UserWarning, match=r"\(clean_mask\) has no rows of classes \[2\]"):
        MetaReweightClassifier(**TINY).fit(X, y, clean_mask=np.isin(np.arange(60), [0, 1]))


@pytest.mark.parametrize(
    "params, match",
    [
        (dict(batch_size=0), "'batch_size' parameter .* range \\[1, inf\\)"),
        (dict(batch_size=-4), "'batch_size' parameter"),
        (dict(max_epochs=0), "'max_epochs' parameter .* range \\[1, inf\\)"),
        (dict(lr=0.0), "'lr' parameter .* range \\(0.0, inf\\)"),
        (dict(lr=-1e-3), "'lr' parameter"),
        (dict(lr=float("nan")), "'lr' parameter"),
        (dict(clean_batch_size=0), "'clean_batch_size' parameter"),
        (dict(dropout=1.0), "'dropout' parameter"),
        (dict(activation="swish"), "'activation' parameter"),
        (dict(meta_method="exact"), "'meta_method' parameter"),
        (dict(callbacks="early_stopping"), "'callbacks' parameter"),
        (dict(warm_start="yes"), "'warm_start' parameter"),
    ],
)
def test_bad_parameters(data, params, match):
    X, y, clean = data
    with pytest.raises(ValueError, match=match):
        MetaReweightClassifier(**{**TINY, **params}).fit(X, y, clean_val=clean)


def test_bad_optimizer_and_hidden_sizes(data):
    X, y, clean = data
    with pytest.raises(
        TypeError, match=r"optimizer must be one of .*Optimizer subclass; got <class .dict.>"
    ):
        MetaReweightClassifier(**TINY, optimizer=dict).fit(X, y, clean_val=clean)
    with pytest.raises(ValueError, match="hidden_layer_sizes must be a tuple of positive ints"):
        MetaReweightClassifier(**{**TINY, "hidden_layer_sizes": (4, 0)}).fit(X, y, clean_val=clean)


class _TupleOut(nn.Module):
    def __init__(self, n_features, n_classes):
        super().__init__()
        self.lin = nn.Linear(n_features, n_classes)

    def forward(self, x):
        out = self.lin(x)
        return out, out


class _FlatOut(_TupleOut):
    def forward(self, x):
        return self.lin(x).sum(1)


@pytest.mark.parametrize(
    "module, match",
    [
        (nn.Linear(6, 2), r"logits of shape \(n_rows, 3\).*Tensor of shape \(2, 2\)"),
        (_TupleOut, r"logits of shape \(n_rows, 3\).*returned tuple"),
        (_FlatOut, r"logits of shape \(n_rows, 3\).*shape \(2,\)"),
    ],
)
def test_module_with_wrong_outputs(data, module, match):
    X, y, clean = data
    with pytest.raises(ValueError, match=match):
        MetaReweightClassifier(**{**TINY, "module": module}).fit(X, y, clean_val=clean)


def test_module_callable_must_return_module(data):
    X, y, clean = data
    with pytest.raises(TypeError, match=r"module\(n_features, n_classes\) must return .* got int"):
        MetaReweightClassifier(**TINY, module=lambda d, k: 3).fit(X, y, clean_val=clean)


def test_predict_and_partial_fit_check_their_input(data):
    X, y, clean = data
    clf = MetaReweightClassifier(**TINY).fit(X, y, clean_val=clean)
    with pytest.raises(
        ValueError, match="X has 5 features, but MetaReweightClassifier is expecting 6"
    ):
        clf.predict(X[:, :5])
    with pytest.raises(ValueError, match="X must be numeric"):
        clf.predict_proba(np.full(X.shape, "a"))
    with pytest.raises(ValueError, match="Input X contains NaN"):
        clf.predict(_with(X, 0, 0, np.nan))
    with pytest.raises(ValueError, match="X has 5 features"):
        clf.partial_fit(X[:, :5], y)
    with pytest.raises(ValueError, match=r"y has labels \[9\] not among the classes \[0, 1, 2\]"):
        clf.partial_fit(X, np.where(np.arange(60) == 0, 9, y))
    with pytest.raises(ValueError, match=r"y has labels \[5\] not among the classes \[3, 4\]"):
        MetaReweightClassifier(**TINY).partial_fit(X, y + 3, classes=[3, 4], clean_val=clean)


# -- properties over shapes and label sets ---------------------------------------


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    n=st.integers(2, 30),
    d=st.integers(1, 5),
    labels=st.lists(
        st.one_of(st.integers(-5, 5), st.sampled_from(["a", "b", "c"])), min_size=1, max_size=4
    ),
    seed=st.integers(0, 2**16),
)
def test_fit_over_shapes_and_label_sets(n, d, labels, seed):
    rng = np.random.RandomState(seed)
    labels = np.array(labels)  # ints and strings together become strings
    X, y = rng.randn(n, d), labels[rng.randint(len(labels), size=n)]
    classes = np.unique(y)
    clf = MetaReweightClassifier(**{**TINY, "max_epochs": 1})
    if len(classes) < 2:
        with pytest.raises(ValueError, match="at least 2 classes"):
            clf.fit(X, y, clean_val=(X[:1], y[:1]))
        return
    with pytest.warns(UserWarning, match="has no rows of classes"):  # X[:1] has 1 class
        clf.fit(X, y, clean_val=(X[:1], y[:1]))
    np.testing.assert_array_equal(clf.classes_, classes)
    assert clf.n_features_in_ == d
    assert np.isin(clf.predict(X), classes).all()
    proba = clf.predict_proba(X)
    assert proba.shape == (n, len(classes)) and np.isfinite(proba).all()
    w = clf.example_weights_
    assert w.shape == (n,) and np.isfinite(w).all() and (w >= 0).all()


@settings(max_examples=40, deadline=None)
@given(
    shape=hnp.array_shapes(min_dims=0, max_dims=4, min_side=0, max_side=4).filter(
        lambda s: len(s) != 2
    )
)
def test_X_that_is_not_2d_is_refused(shape):
    X = np.zeros(shape)
    with pytest.raises(ValueError, match="Expected 2D array|dim|Found array with 0"):
        MetaReweightClassifier(**TINY).fit(X, np.arange(X.shape[0] if X.ndim else 1) % 2)


@settings(max_examples=60, deadline=None)
@given(
    n=st.integers(1, 12),
    length=st.integers(0, 14),
    dtype=st.sampled_from([bool, np.int64, np.float64]),
    data=st.data(),
)
def test_clean_mask_rules(n, length, dtype, data):
    mask = data.draw(hnp.arrays(dtype, length, elements=st.sampled_from([0, 1])))
    if mask.dtype != bool:
        expected = TypeError, "boolean array"
    elif length != n:
        expected = ValueError, "one entry per row"
    elif not mask.any():
        expected = ValueError, "marks no row"
    elif mask.all():
        expected = ValueError, "marks every row"
    else:
        np.testing.assert_array_equal(_check_clean_mask(mask, n), mask)
        return
    with pytest.raises(expected[0], match=expected[1]):
        _check_clean_mask(mask, n)


@settings(max_examples=30, deadline=None)
@given(
    n=st.integers(1, 12),
    m=st.integers(1, 6),
    k=st.integers(2, 4),
    copies=st.integers(2, 3),
    seed=st.integers(0, 2**16),
    method=st.sampled_from(["fast", "general", "recipe"]),
)
def test_meta_weights_ignore_trusted_order_and_duplication(n, m, k, copies, seed, method):
    # test_meta.py covers w >= 0, sum 1 or all 0, and permuting the training
    # batch; here: the trusted set enters only through its mean loss.
    g = torch.Generator().manual_seed(seed)
    x, y = (
        torch.randn(n, 4, generator=g, dtype=torch.float64),
        torch.randint(0, k, (n,), generator=g),
    )
    xc, yc = (
        torch.randn(m, 4, generator=g, dtype=torch.float64),
        torch.randint(0, k, (m,), generator=g),
    )
    torch.manual_seed(seed)
    module = MLP(4, k, (5,)).double()

    def weights(xc, yc):
        module.zero_grad(set_to_none=True)
        return meta_step(module, x, y, xc, yc, method=method).weights

    w = weights(xc, yc)
    perm = torch.randperm(m, generator=g)
    torch.testing.assert_close(weights(xc[perm], yc[perm]), w, rtol=1e-6, atol=1e-10)
    torch.testing.assert_close(
        weights(xc.repeat(copies, 1), yc.repeat(copies)), w, rtol=1e-6, atol=1e-10
    )
    if n == 1:
        assert w.item() in (0.0, 1.0)

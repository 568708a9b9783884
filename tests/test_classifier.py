"""MetaReweightClassifier end to end: routing, pipelines, noisy digits, errors."""

import pickle

import numpy as np
import pandas as pd
import pytest
import sklearn
import torch
from sklearn.datasets import load_digits, make_classification
from sklearn.model_selection import GridSearchCV, cross_val_score, train_test_split
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.class_weight import compute_class_weight
from skorch import NeuralNetClassifier
from torch import nn

from sk_l2rw import MLP, MetaReweightClassifier

FAST = dict(hidden_layer_sizes=(16,), max_epochs=3, batch_size=32, lr=0.01, random_state=0)


@pytest.fixture(scope="module")
def blobs():
    X, y = make_classification(
        n_samples=200, n_features=6, n_informative=4, n_classes=3, random_state=0
    )
    mask = np.random.RandomState(0).rand(len(y)) < 0.2
    return X, y, mask


@pytest.fixture(scope="module")
def noisy_digits():
    """Digits, 40 % of the training labels flipped uniformly, 10 trusted rows per class."""
    X, y = load_digits(return_X_y=True)
    X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=0.3, stratify=y, random_state=0)
    scaler = StandardScaler().fit(X_tr)
    X_tr, X_te = scaler.transform(X_tr).astype(np.float32), scaler.transform(X_te)
    rng = np.random.RandomState(0)
    flipped = rng.rand(len(y_tr)) < 0.4
    y_noisy = y_tr.copy()
    y_noisy[flipped] = (y_tr[flipped] + rng.randint(1, 10, flipped.sum())) % 10
    trusted = np.zeros(len(y_tr), bool)
    for k in range(10):
        trusted[rng.choice(np.flatnonzero(y_tr == k), 10, replace=False)] = True
    y_noisy[trusted] = y_tr[trusted]
    return X_tr, y_noisy, trusted, flipped & ~trusted, X_te, y_te


def test_noisy_digits_beats_plain_training(noisy_digits):
    X, y_noisy, trusted, flipped, X_te, y_te = noisy_digits
    clf = MetaReweightClassifier(max_epochs=100, lr=1e-3, batch_size=128, random_state=0)
    clf.fit(X, y_noisy, clean_mask=trusted)
    torch.manual_seed(0)
    plain = NeuralNetClassifier(
        MLP(X.shape[1], 10),
        criterion=nn.CrossEntropyLoss,
        optimizer=torch.optim.Adam,
        lr=clf.lr,
        max_epochs=clf.max_epochs,
        batch_size=clf.batch_size,
        train_split=None,
        iterator_train__shuffle=True,
        verbose=0,
    ).fit(X, y_noisy)
    acc_meta = clf.score(X_te, y_te)
    acc_plain = plain.score(X_te.astype(np.float32), y_te)
    # Measured with these seeds (defaults): 0.954 vs 0.843; mean weight of the
    # flipped rows 0.21, of the others 1.50.
    assert acc_meta >= acc_plain + 0.05, (acc_meta, acc_plain)
    w = clf.example_weights_
    assert w[flipped].mean() < 0.5 * w[~flipped].mean()


def test_clean_val_and_attributes(blobs):
    X, y, mask = blobs
    clf = MetaReweightClassifier(**FAST).fit(X[~mask], y[~mask], clean_val=(X[mask], y[mask]))
    assert clf.example_weights_.shape == (int((~mask).sum()),)
    assert np.all(clf.example_weights_ >= 0)
    assert clf.n_features_in_ == 6
    np.testing.assert_array_equal(clf.classes_, [0, 1, 2])
    assert clf.net_.meta_method_ == "fast"
    for key in ("train_loss", "clean_loss"):
        assert len(clf.history_[:, key]) == clf.max_epochs
    # max_epochs=3, "auto": int(0.35 * 3) = 1 warm-up, int(0.5 * 3) = 1 refinement epoch.
    assert clf.history_[:, "phase"] == ["warmup", "meta", "refine"]
    keys = ("mean_weight", "zero_weight_frac", "ess_frac", "max_weight")
    for key in (*keys, "all_zero_batches"):
        assert len(clf.history_[:, key]) == 1  # the meta epoch's own figures
    assert clf.history_[:, "kept_rows"] == [clf.history_[-1, "kept_rows"]]
    assert clf.label_quality_.shape == (int((~mask).sum()),)
    assert np.all((clf.label_quality_ >= -1) & (clf.label_quality_ <= 1))
    assert clf.predict_proba(X).shape == (len(X), 3)
    np.testing.assert_allclose(clf.predict_proba(X).sum(1), 1, rtol=1e-5)


def test_clean_mask_weights_every_row_and_train_on_clean(blobs):
    X, y, mask = blobs
    clf = MetaReweightClassifier(**FAST).fit(X, y, clean_mask=mask)
    assert np.isfinite(clf.example_weights_).all()
    clf = MetaReweightClassifier(**FAST, train_on_clean=False).fit(X, y, clean_mask=mask)
    assert np.isnan(clf.example_weights_[mask]).all()
    assert np.isfinite(clf.example_weights_[~mask]).all()


def test_string_labels_and_dataframe(blobs):
    X, y, mask = blobs
    labels = np.array(["cat", "dog", "eel"])[y]
    frame = pd.DataFrame(X, columns=[f"f{i}" for i in range(6)])
    clf = MetaReweightClassifier(**FAST).fit(frame, labels, clean_mask=mask)
    np.testing.assert_array_equal(clf.feature_names_in_, frame.columns)
    assert set(clf.predict(frame)) <= {"cat", "dog", "eel"}
    clean = (frame[mask], labels[mask])
    clf.set_params(max_epochs=15).fit(frame[~mask], labels[~mask], clean_val=clean)
    assert clf.score(frame, labels) > 0.5


def test_no_trusted_set_warns_and_fits(blobs):
    X, y, _ = blobs
    with pytest.warns(UserWarning, match="No trusted set given"):
        clf = MetaReweightClassifier(**FAST).fit(X, y)
    assert clf.example_weights_.shape == (len(X),)


def test_random_state_reproducible_and_rng_untouched(blobs):
    X, y, mask = blobs
    torch_state, np_state = torch.get_rng_state(), np.random.get_state()  # noqa: NPY002
    a = MetaReweightClassifier(**FAST).fit(X, y, clean_mask=mask)
    b = MetaReweightClassifier(**FAST).fit(X, y, clean_mask=mask)
    np.testing.assert_array_equal(a.example_weights_, b.example_weights_)
    np.testing.assert_array_equal(a.predict_proba(X), b.predict_proba(X))
    assert torch.equal(torch.get_rng_state(), torch_state)
    assert np.random.get_state()[1].tolist() == np_state[1].tolist()  # noqa: NPY002


def test_pickle_round_trip(blobs):
    X, y, mask = blobs
    clf = MetaReweightClassifier(**FAST).fit(X, y, clean_mask=mask)
    again = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(again.predict_proba(X), clf.predict_proba(X))


@pytest.mark.parametrize("method", ["general", "recipe"])
def test_other_meta_methods_give_same_fit(blobs, method):
    X, y, mask = blobs
    params = dict(FAST, max_epochs=2)
    fast = MetaReweightClassifier(**params, meta_method="fast").fit(X, y, clean_mask=mask)
    other = MetaReweightClassifier(**params, meta_method=method).fit(X, y, clean_mask=mask)
    np.testing.assert_allclose(other.example_weights_, fast.example_weights_, atol=1e-4)


def test_module_instance_and_callable(blobs):
    X, y, mask = blobs
    instance = nn.Sequential(nn.Linear(6, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Linear(8, 3))
    clf = MetaReweightClassifier(**FAST, module=instance).fit(X, y, clean_mask=mask)
    assert clf.net_.meta_method_ == "general"
    assert clf.net_.module_ is not instance  # deep-copied: refits start afresh
    clf = MetaReweightClassifier(**FAST, module=MLP).fit(X, y, clean_mask=mask)
    assert clf.net_.meta_method_ == "fast"


def test_pipeline_grid_search_with_fit_params(blobs):
    X, y, mask = blobs
    pipe = Pipeline([("scale", StandardScaler()), ("clf", MetaReweightClassifier(**FAST))])
    search = GridSearchCV(pipe, {"clf__max_epochs": [10, 20]}, cv=2)
    search.fit(X, y, clf__clean_mask=mask)
    assert search.best_score_ > 0.4
    scores = cross_val_score(pipe, X, y, cv=2, params={"clf__clean_mask": mask})
    assert scores.shape == (2,)


def test_pipeline_grid_search_with_metadata_routing(blobs):
    X, y, mask = blobs
    with sklearn.config_context(enable_metadata_routing=True):
        clf = MetaReweightClassifier(**FAST).set_fit_request(clean_mask=True)
        pipe = make_pipeline(StandardScaler(), clf)
        search = GridSearchCV(pipe, {"metareweightclassifier__max_epochs": [1, 2]}, cv=2)
        search.fit(X, y, clean_mask=mask)
        assert search.best_estimator_[-1].example_weights_.shape == (len(X),)
        scores = cross_val_score(pipe, X, y, cv=2, params={"clean_mask": mask})
        assert scores.shape == (2,)


def test_grid_search_with_clean_val(blobs):
    X, y, mask = blobs
    search = GridSearchCV(MetaReweightClassifier(**FAST), {"batch_size": [16, 64]}, cv=2)
    search.fit(X[~mask], y[~mask], clean_val=(X[mask], y[mask]))
    assert search.best_estimator_.example_weights_.shape == (int((~mask).sum()),)


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        (dict(clean_val=(np.zeros((3, 6)),)), TypeError, "clean_val must be a pair"),
        (dict(clean_val=np.zeros((3, 6))), TypeError, "clean_val must be a pair"),
        (dict(clean_val=(np.zeros((3, 5)), [0, 1, 2])), ValueError, r"clean_val\[0\].*5 features"),
        (dict(clean_val=(np.zeros((3, 6)), [0, 1, 7])), ValueError, "not seen in y: \\[7\\]"),
        (dict(clean_val=(np.zeros((0, 6)), [])), ValueError, r"clean_val\[0\]"),
        (dict(clean_val=(np.full((3, 6), np.nan), [0, 1, 2])), ValueError, "NaN"),
        (dict(clean_val=(np.zeros((3, 6)), [0, 1])), ValueError, r"clean_val\[1\]"),
        (dict(clean_mask=np.ones(5, bool)), ValueError, "clean_mask must have one entry per row"),
        (dict(clean_mask=np.ones(200)), TypeError, "clean_mask must be a boolean"),
        (dict(clean_mask=np.zeros(200, bool)), ValueError, "marks no row"),
        (dict(clean_mask=np.ones(200, bool)), ValueError, "marks every row"),
        (
            dict(clean_mask=np.ones(200, bool), clean_val=(np.zeros((3, 6)), [0, 1, 2])),
            ValueError,
            "either clean_val or clean_mask",
        ),
    ],
)
def test_bad_trusted_set(blobs, kwargs, error, match):
    X, y, _ = blobs
    with pytest.raises(error, match=match):
        MetaReweightClassifier(**FAST).fit(X, y, **kwargs)


def test_bad_data_and_parameters(blobs):
    X, y, mask = blobs
    bad = X.copy()
    bad[0, 0] = np.inf
    with pytest.raises(ValueError, match="infinity"):
        MetaReweightClassifier(**FAST).fit(bad, y, clean_mask=mask)
    with pytest.raises(ValueError, match="at least 2 classes"):
        MetaReweightClassifier(**FAST).fit(X, np.zeros(len(y)), clean_mask=mask)
    with pytest.raises(ValueError, match="batch_size"):
        MetaReweightClassifier(batch_size=0).fit(X, y, clean_mask=mask)
    with pytest.raises(ValueError, match="hidden_layer_sizes"):
        MetaReweightClassifier(hidden_layer_sizes=(4, 0)).fit(X, y, clean_mask=mask)
    with pytest.raises(ValueError, match=r"logits of shape \(n_rows, 3\)"):
        MetaReweightClassifier(**dict(FAST, module=nn.Linear(6, 2))).fit(X, y, clean_mask=mask)
    with pytest.raises(ValueError, match="meta_method='fast' cannot be used"):
        MetaReweightClassifier(
            **FAST, module=nn.Sequential(nn.Linear(6, 3), nn.BatchNorm1d(3)), meta_method="fast"
        ).fit(X, y, clean_mask=mask)


# -- class_weight ------------------------------------------------------------------


@pytest.fixture(scope="module")
def imbalanced():
    X, y = make_classification(
        400, 6, n_informative=4, n_classes=3, weights=[0.7, 0.2, 0.1], random_state=0
    )
    labels = np.array(["a", "b", "c"])[y]
    return X, labels, np.arange(len(y)) % 10 == 0


def test_class_weight_is_a_factor_on_sample_weights(imbalanced):
    """A dict and "balanced" give the fit that the same factors given as
    sample weights give with class_weight=None, selection round included."""
    X, y, trusted = imbalanced
    kw = dict(max_epochs=6, random_state=0)
    weight = np.random.RandomState(0).rand(len(y)) + 0.5
    by_dict = MetaReweightClassifier(class_weight={"b": 3.0}, **kw)
    by_dict.fit(X, y, clean_mask=trusted, sample_weight=weight)
    by_rows = MetaReweightClassifier(class_weight=None, **kw)
    by_rows.fit(X, y, clean_mask=trusted, sample_weight=weight * np.where(y == "b", 3.0, 1.0))
    np.testing.assert_array_equal(by_dict.predict_proba(X), by_rows.predict_proba(X))
    balanced = compute_class_weight("balanced", classes=np.unique(y), y=y)
    by_name = MetaReweightClassifier(class_weight="balanced", **kw).fit(X, y, clean_mask=trusted)
    by_rows = MetaReweightClassifier(class_weight=None, **kw)
    by_rows.fit(
        X, y, clean_mask=trusted, sample_weight=balanced[np.searchsorted(["a", "b", "c"], y)]
    )
    np.testing.assert_allclose(by_name.predict_proba(X), by_rows.predict_proba(X), atol=1e-6)


def test_class_weight_reaches_the_meta_steps_and_none_weights_nothing(imbalanced):
    X, y, trusted = imbalanced
    kw = dict(max_epochs=6, fallback=None, random_state=0)
    clf = MetaReweightClassifier(class_weight={"c": 0.0}, **kw).fit(X, y, clean_mask=trusted)
    assert (clf.example_weights_[y == "c"] == 0).all()
    assert (clf.example_weights_[y != "c"] > 0).any()
    assert clf.net_.plain_class_weight_ is None  # no trusted-share rule on top
    kw["max_epochs"] = 30  # long enough for the class weighting to show
    shares = MetaReweightClassifier(class_weight="trusted", **kw).fit(X, y, clean_mask=trusted)
    assert shares.net_.plain_class_weight_ is not None
    unweighted = MetaReweightClassifier(**kw).fit(X, y, clean_mask=trusted)  # the default
    assert unweighted.net_.plain_class_weight_ is None
    # The trusted set is balanced against data that are not: its shares move
    # probability to the rarest class, the unweighted loss does not.
    assert shares.predict_proba(X)[:, 2].mean() > unweighted.predict_proba(X)[:, 2].mean()


@pytest.mark.parametrize(
    "class_weight, error, match",
    [
        ({"z": 2.0}, ValueError, r"class_weight has labels \['z'\] not among"),
        ({"a": -1.0}, ValueError, "non-negative finite numbers; got -1.0 for 'a'"),
        ({"a": np.nan}, ValueError, "non-negative finite numbers"),
        ({"a": "x"}, ValueError, "non-negative finite numbers"),
        ("uniform", ValueError, "class_weight"),
    ],
)
def test_bad_class_weight(imbalanced, class_weight, error, match):
    X, y, trusted = imbalanced
    with pytest.raises(error, match=match):
        MetaReweightClassifier(class_weight=class_weight, max_epochs=2).fit(
            X, y, clean_mask=trusted
        )

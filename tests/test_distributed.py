"""A trusted-row search, and ReweightedClassifier's check, on a dask.distributed
cluster give the local run's results.

Two worker processes on 127.0.0.1, no dashboard. Workers run torch on one
thread by the recipe of the "Scaling out" page: ``client.run(torch.set_num_threads, 1)``
on the workers there are. Deselect with ``-m "not distributed"``.
"""

import numpy as np
import pytest
import sklearn
import torch
from sklearn.datasets import make_classification
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV

from sk_l2rw import MetaReweightClassifier, ReweightedClassifier
from sk_l2rw.model_selection import TrustedStratifiedKFold, trusted_scorer

distributed = pytest.importorskip("distributed")
joblib = pytest.importorskip("joblib")

pytestmark = pytest.mark.distributed

SCORING = {
    "trusted": trusted_scorer(),
    "prediction-powered": trusted_scorer(estimate="prediction-powered"),
    "noisy": "accuracy",
}


def noisy_data():
    X, y = make_classification(
        n_samples=300, n_features=8, n_informative=5, n_classes=3, random_state=1
    )
    rng = np.random.RandomState(1)
    trusted = np.zeros(len(y), bool)
    for k in range(3):
        trusted[rng.choice(np.flatnonzero(y == k), 9, replace=False)] = True
    flip = ~trusted & (rng.rand(len(y)) < 0.3)
    return X.astype(np.float32), np.where(flip, (y + 1) % 3, y), trusted


def search_scores(X, y, trusted):
    """The score columns of cv_results_ (timings differ from run to run)."""
    clf = MetaReweightClassifier(
        hidden_layer_sizes=(16,), max_epochs=4, batch_size=32, random_state=0
    ).set_fit_request(clean_mask=True)
    search = GridSearchCV(
        clf,
        {"lr": [1e-3, 1e-2], "hidden_layer_sizes": [(8,), (16,)]},
        scoring=SCORING,
        refit="trusted",
        cv=TrustedStratifiedKFold(3, shuffle=True, random_state=0),
        error_score="raise",
    )
    search.fit(X, y, clean_mask=trusted)
    results = search.cv_results_
    return search, {k: v for k, v in results.items() if "test_" in k}


@pytest.fixture(scope="module")
def client():
    """A two-process cluster on 127.0.0.1, one torch thread per worker."""
    with (
        distributed.LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            host="127.0.0.1",
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        client.run(torch.set_num_threads, 1)
        assert set(client.run(torch.get_num_threads).values()) == {1}
        yield client


def _executed(client):
    return sum(client.run(lambda dask_worker: dask_worker.state.executed_count).values())


def test_grid_search_on_a_local_cluster_equals_the_local_run(client):
    X, y, trusted = noisy_data()
    with sklearn.config_context(enable_metadata_routing=True):
        local, expected = search_scores(X, y, trusted)
        before = _executed(client)
        with joblib.parallel_backend("dask"):
            remote, got = search_scores(X, y, trusted)
        # Every fit ran on a worker, not in this process.
        assert _executed(client) > before
    assert got.keys() == expected.keys() and len(got) == 3 * 6
    for key, value in expected.items():
        np.testing.assert_array_equal(got[key], value, err_msg=key)
    assert remote.best_params_ == local.best_params_
    np.testing.assert_array_equal(remote.predict(X), local.predict(X))


def test_reweighted_classifier_check_on_a_local_cluster_equals_the_local_fit(client):
    """ReweightedClassifier's check folds and full reweighter, sent to the
    cluster by joblib's dask backend: the local fit's check, way and model."""
    X, y, trusted = noisy_data()

    def fit():
        return ReweightedClassifier(
            LogisticRegression(),
            reweighter=MetaReweightClassifier(
                hidden_layer_sizes=(16,), max_epochs=4, batch_size=32, random_state=0
            ),
            random_state=0,
        ).fit(X, y, clean_mask=trusted)

    local = fit()
    before = _executed(client)
    with joblib.parallel_backend("dask"):
        remote = fit()
    assert _executed(client) >= before + 3  # two fold fits and the full reweighter
    assert remote.carry_ == local.carry_
    for key in ("scores", "differences", "standard_errors"):
        assert remote.carry_check_[key] == pytest.approx(local.carry_check_[key], abs=1e-6)
    np.testing.assert_allclose(remote.example_weights_, local.example_weights_, atol=1e-5)
    np.testing.assert_array_equal(remote.predict(X), local.predict(X))

"""Metadata routing: the trusted set is requested by default."""

import numpy as np
import pytest
import sklearn
import torch
from sklearn.datasets import make_classification
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import cross_validate, learning_curve
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sk_l2rw import (
    MetaReweightClassifier,
    MetaReweightRegressor,
    ReweightedClassifier,
    ReweightedRegressor,
)

FAST = {"max_epochs": 2, "fallback": None, "random_state": 0}


@pytest.fixture(autouse=True)
def _one_thread():
    torch.set_num_threads(1)


@pytest.fixture
def data():
    X, y = make_classification(n_samples=160, n_features=6, random_state=0)
    return X, y, np.arange(len(y)) % 8 == 0


@pytest.mark.parametrize(
    "estimator",
    [
        MetaReweightClassifier(),
        MetaReweightRegressor(),
        ReweightedClassifier(),
        ReweightedRegressor(),
    ],
)
def test_trusted_set_requested_by_default(estimator):
    routing = estimator.get_metadata_routing()
    methods = ["fit", "partial_fit"] if hasattr(estimator, "partial_fit") else ["fit"]
    for method in methods:
        requests = getattr(routing, method).requests
        assert requests["clean_mask"] is True and requests["clean_val"] is True
        # sample_weight keeps scikit-learn's convention: requested explicitly.
        assert requests["sample_weight"] is None


def test_learning_curve_routes_clean_mask_without_a_request(data):
    X, y, mask = data
    with sklearn.config_context(enable_metadata_routing=True):
        clf = MetaReweightClassifier(**FAST)
        _, train, test = learning_curve(
            clf, X, y, train_sizes=[0.5, 1.0], cv=2, params={"clean_mask": mask}
        )
    assert test.shape == (2, 2) and np.isfinite(test).all()


def test_pipeline_routes_clean_mask_without_a_request(data):
    X, y, mask = data
    with sklearn.config_context(enable_metadata_routing=True):
        pipe = make_pipeline(StandardScaler(), MetaReweightClassifier(**FAST))
        scores = cross_validate(pipe, X, y, cv=2, params={"clean_mask": mask})
    assert scores["test_score"].shape == (2,)


def test_request_can_still_be_declined(data):
    X, y, mask = data
    with sklearn.config_context(enable_metadata_routing=True):
        clf = MetaReweightClassifier(**FAST).set_fit_request(clean_mask=False)
        assert clf.get_metadata_routing().fit.requests["clean_mask"] is False
        carried = ReweightedClassifier(LogisticRegression())
        assert carried.get_metadata_routing().fit.requests["clean_mask"] is True

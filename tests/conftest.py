import numpy as np
import pytest
import torch

# Tiny nets on shared cores run far slower with torch's default thread count.
torch.set_num_threads(1)


@pytest.fixture
def round_folds(monkeypatch):
    """The selection round's fold nets of the fits a test runs, as a list
    (filled as each fit's round ends)."""
    from sk_l2rw import MetaReweightClassifier

    seen = []
    original = MetaReweightClassifier._choose

    def spy(self, folds):
        seen.extend(folds)
        return original(self, folds)

    monkeypatch.setattr(MetaReweightClassifier, "_choose", spy)
    return seen


@pytest.fixture(scope="module")
def small():
    """160 rows of a linear binary problem, 20 % of the labels flipped, 16
    trusted rows (correctly labelled): ``(X, y, clean_mask)``."""
    rng = np.random.RandomState(0)
    X = rng.randn(160, 4)
    y = (X[:, 0] + X[:, 1] > 0).astype(int)
    y_noisy = np.where(rng.rand(len(y)) < 0.2, 1 - y, y)
    mask = np.zeros(len(y), bool)
    mask[rng.choice(len(y), 16, replace=False)] = True
    return X, np.where(mask, y, y_noisy), mask

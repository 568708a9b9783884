"""scikit-learn's estimator checks, all of them, no expected failures."""

import pytest
from sklearn.utils.estimator_checks import parametrize_with_checks

from sk_l2rw import MetaReweightClassifier, MetaReweightRegressor


def _check_time_estimators():
    # Small and seeded, as scikeras does: the checks stay as strict as sklearn's.
    return [
        MetaReweightClassifier(
            hidden_layer_sizes=(16,), max_epochs=20, lr=0.01, batch_size=32, random_state=0
        ),
        MetaReweightRegressor(
            hidden_layer_sizes=(16,), max_epochs=20, lr=0.01, batch_size=32, random_state=0
        ),
    ]


@pytest.mark.filterwarnings("ignore:No trusted set given:UserWarning")
@pytest.mark.filterwarnings("ignore:The trusted set:UserWarning")
@parametrize_with_checks(_check_time_estimators())
def test_sklearn_compatible(estimator, check):
    check(estimator)

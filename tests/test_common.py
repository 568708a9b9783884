"""scikit-learn's estimator checks, all of them; the sample-weight
equivalence checks are expected failures, each with its reason (the property
that does hold is tested in test_sample_weight.py)."""

import pytest
from sklearn.utils.estimator_checks import parametrize_with_checks

from sk_l2rw import MetaReweightClassifier, MetaReweightRegressor

# As scikit-learn marks its own minibatch MLPs: the checks compare a fit with
# integer weights to a fit on repeated rows, which for a stochastic minibatch
# fit are different fits (other batches, another shuffle, another trusted
# sample and other selection-round folds drawn from the rows).
_EQUIVALENCE = (
    "minibatch training: repeated rows change the batches, the shuffle, the sampled "
    "trusted set and the selection round's folds, so weights cannot equal repetition "
    "fit for fit; a weight of 0 equals leaving the row out with one batch and fixed "
    "seeds (tests/test_sample_weight.py)"
)
_EXPECTED = {
    "check_sample_weight_equivalence_on_dense_data": _EQUIVALENCE,
    "check_sample_weight_equivalence_on_sparse_data": _EQUIVALENCE,
}


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
@parametrize_with_checks(_check_time_estimators(), expected_failed_checks=lambda est: _EXPECTED)
def test_sklearn_compatible(estimator, check):
    check(estimator)

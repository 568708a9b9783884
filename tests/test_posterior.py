"""The posterior of the true label that ReweightedClassifier's check scores by."""

import numpy as np
import pytest

from sk_l2rw._posterior import noise_transition, true_label_posterior


def test_the_posterior_scores_true_accuracy_where_the_given_labels_shrink_it():
    """With probabilities that know the true labels, the posterior is the
    true label and a prediction's score its true accuracy; on the given
    labels (30 % binary uniform flips) two models' difference shrinks by
    about 1 - 2 x 0.3 and a model that copies the noise scores best."""
    rng = np.random.RandomState(0)
    true = rng.randint(2, size=4000)
    given = np.where(rng.rand(4000) < 0.3, 1 - true, true)
    post = true_label_posterior(np.eye(2)[true], given)
    np.testing.assert_allclose(post, np.eye(2)[true])
    good = np.where(rng.rand(4000) < 0.9, true, 1 - true)
    fair = np.where(rng.rand(4000) < 0.7, true, 1 - true)

    def score(p, on):
        return post[np.arange(4000), p].mean() if on is None else (p == on).mean()

    true_gap = (good == true).mean() - (fair == true).mean()
    assert score(good, None) - score(fair, None) == pytest.approx(true_gap)
    given_gap = score(good, given) - score(fair, given)
    assert given_gap == pytest.approx(0.4 * true_gap, abs=0.03)
    assert score(given, given) == 1.0 and score(given, None) == pytest.approx(0.7, abs=0.02)
    # The noise, counted from the same rows: the flips' shares per true class.
    T = noise_transition(np.eye(2)[true], given)
    np.testing.assert_allclose(T, [[0.7, 0.3], [0.3, 0.7]], atol=0.03)
    np.testing.assert_allclose(T.sum(axis=1), 1.0)


def test_a_weight_counts_as_copies_of_the_row():
    rng = np.random.RandomState(1)
    proba = rng.dirichlet(np.ones(3), size=50)
    given = rng.randint(3, size=50)
    weight = rng.randint(1, 4, size=50)
    copies = np.repeat(np.arange(50), weight)
    np.testing.assert_allclose(
        noise_transition(proba, given, weight.astype(float)),
        noise_transition(proba[copies], given[copies]),
    )
    np.testing.assert_allclose(
        true_label_posterior(proba, given, weight.astype(float))[copies],
        true_label_posterior(proba[copies], given[copies]),
    )


def test_the_posterior_by_bayes_rule_on_a_small_case():
    """Two rows, two classes, by hand: T from the q-weighted counts."""
    q = np.array([[0.8, 0.2], [0.4, 0.6]])
    given = np.array([0, 1])
    # Class 0 counts 0.8 of row 0 (given 0) and 0.4 of row 1 (given 1).
    T = np.array([[0.8 / 1.2, 0.4 / 1.2], [0.2 / 0.8, 0.6 / 0.8]])
    np.testing.assert_allclose(noise_transition(q, given), T)
    row0 = np.array([0.8 * T[0, 0], 0.2 * T[1, 0]])
    row1 = np.array([0.4 * T[0, 1], 0.6 * T[1, 1]])
    expected = np.array([row0 / row0.sum(), row1 / row1.sum()])
    np.testing.assert_allclose(true_label_posterior(q, given), expected)

"""The backward-corrected estimate of clean accuracy (benchmarks/_corrected.py)
against its exact expectation under known class-conditional noise, and the
selection-on-real-tables page against its saved results."""

from pathlib import Path

import numpy as np
import pytest
from _benchmarks import benchmark_module

ROOT = Path(__file__).parents[1]


@pytest.fixture(scope="module")
def corrected():
    return benchmark_module("_corrected")


def _noise(k, rng):
    C = rng.dirichlet(np.ones(k) * 0.5, size=k) * 0.4 + 0.6 * np.eye(k)
    return C / C.sum(axis=1, keepdims=True)


@pytest.mark.parametrize("k", [2, 3, 5])
def test_the_corrected_score_is_unbiased_for_clean_accuracy(corrected, k):
    rng = np.random.RandomState(k)
    C = _noise(k, rng)
    true = rng.randint(k, size=200)
    pred = np.where(rng.rand(200) < 0.7, true, rng.randint(k, size=200))
    # The exact expectation over the given labels, label by label.
    expected = np.mean(
        [
            sum(C[t, j] * corrected.corrected_scores(C, [j], [p])[0] for j in range(k))
            for t, p in zip(true, pred)
        ]
    )
    np.testing.assert_allclose(expected, np.mean(pred == true), atol=1e-12)
    # And a draw of the noise comes close, where the noisy-label score does not.
    draws = [
        corrected.corrected_scores(C, np.array([rng.choice(k, p=C[t]) for t in true]), pred).mean()
        for _ in range(200)
    ]
    assert abs(np.mean(draws) - np.mean(pred == true)) < 0.01


def test_transition_matrix_is_the_mean_prediction_per_true_class(corrected):
    proba = np.array([[0.9, 0.1, 0.0], [0.7, 0.3, 0.0], [0.2, 0.7, 0.1]])
    C = corrected.transition_matrix(proba, np.array([0, 0, 1]), 3)
    np.testing.assert_allclose(C[0], [0.8, 0.2, 0.0])
    np.testing.assert_allclose(C[1], [0.2, 0.7, 0.1])
    np.testing.assert_array_equal(C[2], [0, 0, 1])  # no trusted row: the identity's


def test_class_prior_inverts_the_noise(corrected):
    C = np.array([[0.7, 0.3], [0.1, 0.9]])
    prior = np.array([0.8, 0.2])
    shares = C.T @ prior
    given = np.repeat([0, 1], np.round(shares * 10_000).astype(int))
    np.testing.assert_allclose(corrected.class_prior(C, given, 2), prior, atol=1e-3)


def test_a_near_singular_matrix_falls_back_to_the_trusted_rows(corrected):
    C = np.array([[0.5, 0.5], [0.49, 0.51]])
    given, pred = np.array([0, 1, 1, 0]), np.array([0, 1, 0, 0])
    out = corrected.estimates(C, given, pred, np.array([0, 1]), np.array([0, 0]), 2)
    assert out["condition"] > corrected.MAX_CONDITION
    assert out["corrected"] is None and out["combined"] == out["trusted"]
    assert out["noisy"] == 0.75


def test_the_selection_page_is_what_the_saved_results_give():
    module = benchmark_module("selection_real")
    page = (ROOT / "docs" / "benchmarks" / "selection_real.md").read_text()
    assert module.assemble() == page

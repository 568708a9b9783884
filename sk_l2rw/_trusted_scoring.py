"""The scorer behind :func:`sk_l2rw.model_selection.trusted_scorer`."""

import numpy as np
from sklearn import get_config
from sklearn.metrics import get_scorer
from sklearn.utils import _safe_indexing
from sklearn.utils.metadata_routing import MetadataRequest, get_routing_for_object
from sklearn.utils.validation import _num_samples

from ._base import check_mask_rows

ESTIMATES = ("trusted", "prediction-powered")


def check_mask(clean_mask, n_rows, where):
    """A boolean mask with one entry per row, or a TypeError/ValueError naming ``where``."""
    if clean_mask is None:
        raise ValueError(
            f"{where} needs clean_mask, the boolean mask of trusted rows, and got none. "
            "Enable metadata routing (sklearn.set_config(enable_metadata_routing=True)) "
            "and pass clean_mask=mask to the search's or cross_validate's fit; to score "
            "rows that are all trusted (a clean test set), pass "
            "clean_mask=numpy.ones(len(y), dtype=bool)."
        )
    return check_mask_rows(clean_mask, n_rows)


def prediction_powered_accuracy(estimator, X, y, mask):
    """Accuracy estimated from every row's confidence, corrected on the trusted rows.

    ``mean(confidence over all rows) + mean(correct - confidence over trusted
    rows)``: unbiased for the accuracy of the rows the trusted ones represent,
    whatever the confidence is worth (Angelopoulos et al. 2023, prediction-
    powered inference), and of lower variance than the trusted accuracy alone
    when confidence tracks correctness. Clipped to [0, 1].
    """
    proba = np.asarray(estimator.predict_proba(X))
    classes = np.asarray(estimator.classes_)
    predicted = classes[proba.argmax(axis=1)]
    confidence = proba.max(axis=1)
    correct = predicted[mask] == np.asarray(y)[mask]
    estimate = confidence.mean() + np.mean(correct - confidence[mask])
    return float(np.clip(estimate, 0.0, 1.0))


class TrustedScorer:
    """Score a fitted estimator on the trusted rows of a test fold.

    Built by :func:`sk_l2rw.model_selection.trusted_scorer`; see there.
    """

    def __init__(self, scoring, estimate):
        self.scoring = scoring
        self.estimate = estimate
        self._scorer = get_scorer(scoring)
        # clean_mask is what this scorer is for: requested unless told otherwise.
        self._requests = {"clean_mask": True}

    def __repr__(self):
        return f"trusted_scorer({self.scoring!r}, estimate={self.estimate!r})"

    def _routing_repr(self):
        return repr(self)

    def __call__(self, estimator, X, y_true, clean_mask=None, **kwargs):
        """The score of ``estimator`` on the rows of ``X`` that ``clean_mask`` marks.

        Parameters
        ----------
        estimator : fitted estimator
        X : array-like of shape (n_samples, n_features)
        y_true : array-like of shape (n_samples,)
            Labels; only those of trusted rows are used (all rows' features
            are, with ``estimate="prediction-powered"``).
        clean_mask : array-like of bool, shape (n_samples,)
            True for trusted rows. Routed by metadata routing from the
            search's ``fit``, sliced to the test fold.
        **kwargs
            Other metadata for the wrapped scorer (e.g. ``sample_weight``),
            sliced to the trusted rows.

        Returns
        -------
        score : float
        """
        n_rows = _num_samples(X)
        mask = check_mask(clean_mask, n_rows, "trusted_scorer")
        n_trusted = int(mask.sum())
        if not n_trusted:
            raise ValueError(
                f"trusted_scorer: this test fold ({n_rows} rows) has no trusted rows "
                "(clean_mask marks none of them), so it cannot be scored on trusted "
                "labels. Split with sk_l2rw.model_selection.TrustedStratifiedKFold, which "
                "puts trusted rows of every class in every test fold."
            )
        y_true = np.asarray(y_true)
        if self.estimate == "prediction-powered":
            if kwargs:
                raise TypeError(
                    "trusted_scorer(estimate='prediction-powered') takes no metadata "
                    f"other than clean_mask; got {sorted(kwargs)}."
                )
            return prediction_powered_accuracy(estimator, X, y_true, mask)
        kwargs = {
            key: _safe_indexing(value, mask)
            if value is not None and _num_samples(value) == n_rows
            else value
            for key, value in kwargs.items()
        }
        return self._scorer(estimator, _safe_indexing(X, mask), y_true[mask], **kwargs)

    def set_score_request(self, **kwargs):
        """Request metadata for scoring (``clean_mask`` is requested already).

        Only with metadata routing enabled. ``set_score_request(clean_mask="trusted")``
        reads the mask from metadata named ``trusted``; other names (such as
        ``sample_weight``) go to the wrapped scorer, on the trusted rows.

        Parameters
        ----------
        **kwargs : dict
            ``param=alias``, with alias one of True, False, None or a string.

        Returns
        -------
        self : TrustedScorer
        """
        if not get_config()["enable_metadata_routing"]:
            raise RuntimeError(
                "set_score_request is only available when metadata routing is enabled: "
                "sklearn.set_config(enable_metadata_routing=True)."
            )
        self._requests.update(kwargs)
        return self

    def get_metadata_routing(self):
        """What this scorer requests: ``clean_mask`` and the wrapped scorer's requests.

        Returns
        -------
        routing : sklearn.utils.metadata_routing.MetadataRequest
        """
        request = MetadataRequest(owner=self)
        for param, alias in get_routing_for_object(self._scorer).score.requests.items():
            request.score.add_request(param=param, alias=alias)
        for param, alias in self._requests.items():
            request.score.add_request(param=param, alias=alias)
        return request

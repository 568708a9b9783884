"""The posterior of a row's true label, given its features and its given label.

What :class:`~sk_l2rw.ReweightedClassifier`'s check scores held-back rows by.
A model's class probabilities ``q(x)`` estimate the true label from the
features alone; the rows' given labels say how the noise moved them: the
noise ``T[i, l]``, the share of given label ``l`` among rows of true class
``i``, is estimated by counting each row in every class ``i`` with weight
``q_i(x)``. Bayes' rule then gives ``p(i | x, given l) ∝ q_i(x) T[i, l]``.
A prediction's expected accuracy on the true labels is the posterior of the
predicted class: with ``q`` and ``T`` right, an unbiased score of how many
true labels a model gets right, where scoring on the given labels shrinks
every difference between models (under binary uniform noise at rate ``r``,
by ``1 - 2r``) and favours models that copy the noise. Pure NumPy.
"""

import numpy as np

_TINY = 1e-12


def noise_transition(proba, given, weight=None):
    """``T[i, l]``: the ``proba``-weighted share of given label ``l`` (codes
    ``0 .. n_classes - 1``) among the rows of class ``i``, each row counted
    ``weight`` times (default once)."""
    n_classes = proba.shape[1]
    weighted = proba if weight is None else proba * weight[:, None]
    counts = weighted.T @ np.eye(n_classes)[given]
    return counts / np.maximum(counts.sum(axis=1, keepdims=True), _TINY)


def true_label_posterior(proba, given, weight=None):
    """Each row's posterior over the true classes, ``proba`` times the
    noise's ``T[:, given]`` (:func:`noise_transition`, from the same rows),
    normalised per row (all zero where every class has posterior zero)."""
    T = noise_transition(proba, given, weight)
    post = proba * T[:, given].T
    return post / np.maximum(post.sum(axis=1, keepdims=True), _TINY)

"""The selection round's held-back curves and what it reads off them (issue
18): where the final fit stops, against hand computations on made-up folds,
and the stopped final fits against the fits they cut short."""

from types import SimpleNamespace

import numpy as np
import pytest
from skorch.callbacks import Callback

from sk_l2rw import MetaReweightClassifier
from sk_l2rw._selection import (
    STOP_GUARD,
    best_epoch,
    choose,
    final_schedule,
    paired_difference,
)

SMALL = dict(hidden_layer_sizes=(8,), max_epochs=8, batch_size=16, lr=0.01, random_state=0)


def test_every_net_of_the_round_scores_its_held_back_rows_after_each_epoch(small, round_folds):
    X, y, mask = small
    seen = round_folds
    clf = MetaReweightClassifier(**SMALL).fit(X, y, clean_mask=mask)
    for net in seen:
        held = net.held_rows_
        assert set(net.holdout_curves_) == {"reweighted", "plain", "fallback"}
        for curve in net.holdout_curves_.values():
            assert curve.shape == (8, len(held))
            assert set(np.unique(curve)) <= {0.0, 1.0}
        # The last epoch's scores are the round's end-of-training scores; the
        # reweighted net's are right or wrong on the given label.
        for kind in ("reweighted", "fallback"):
            np.testing.assert_array_equal(net.holdout_curves_[kind][-1], net.holdout_scores_[kind])
        right = net.predict(X[held].astype(np.float32)) == y[held]
        np.testing.assert_array_equal(net.holdout_curves_["reweighted"][-1], right)
        # Each epoch's weighted mean is in the fold net's history.
        w = net.holdout_scores_["weight"]
        np.testing.assert_allclose(
            net.history[:, "held_back_score"], net.holdout_curves_["reweighted"] @ w / w.sum()
        )
        assert net.held_back_ is None  # the fold's rows are let go
    # The pooled curves in selection_, one value per epoch and kind.
    w = np.concatenate([net.holdout_scores_["weight"] for net in seen])
    for kind, curve in clf.selection_["curves"].items():
        pooled = np.concatenate([net.holdout_curves_[kind] for net in seen], axis=1)
        np.testing.assert_allclose(curve, pooled @ w / w.sum())
    # The plain nets' histories are reported beside the other kinds'.
    for history in clf.selection_["plain_histories"]:
        assert history[:, "phase"] == ["fallback"] * 8


def _fold(curves, n_rows, weight=None):
    """A made-up fold: per-kind held-back curves (epochs x rows)."""
    weight = np.ones(n_rows) if weight is None else weight
    curves = {kind: np.asarray(c, dtype=float) for kind, c in curves.items()}
    scores = {kind: curves[kind][-1] for kind in ("reweighted", "fallback")}
    return SimpleNamespace(
        holdout_curves_=curves,
        holdout_scores_={**scores, "weight": weight},
        history="h",
        fallback_history_="fh",
    )


def _curve(rng, n_rows, accuracies):
    """One row of 0/1 scores per epoch with about the given accuracies, each
    epoch's right rows nested in those of any more accurate one."""
    u = rng.rand(n_rows)
    return np.stack([(u < a).astype(float) for a in accuracies])


def _lead(a, b):
    """The paired lead of scores ``a`` over ``b`` and its standard error, by hand."""
    d = a - b
    n = len(d)
    return d.mean(), np.sqrt(((d - d.mean()) ** 2).mean() / n)


def test_the_final_fit_stops_at_a_clear_best_epoch_only():
    rng = np.random.RandomState(0)
    n = 400
    # The reweighted kind peaks at epoch 3 (from 1) and falls back after; the
    # fallback and the plain net trail it.
    peak = _curve(rng, 2 * n, [0.6, 0.7, 0.8, 0.7, 0.6])
    low = _curve(rng, 2 * n, [0.5] * 5)
    folds = [
        _fold({"reweighted": peak[:, i], "fallback": low[:, i], "plain": low[:, i]}, n)
        for i in (slice(0, n), slice(n, 2 * n))
    ]
    selected, selection = choose(folds)
    lead, se = _lead(peak[2], peak[-1])
    assert lead > STOP_GUARD * se  # the made-up peak is clear
    assert selected == "reweighted" and selection["stop_epoch"] == 3
    assert selection["stop_lead"] == pytest.approx(lead)
    assert selection["stop_standard_error"] == pytest.approx(se)
    np.testing.assert_allclose(selection["curves"]["reweighted"], peak.mean(axis=1))
    # A flat curve: the best epoch's lead is noise, the fit runs to its end.
    flat = _curve(rng, 2 * n, [0.7] * 5)
    folds = [
        _fold({"reweighted": flat[:, i], "fallback": low[:, i], "plain": low[:, i]}, n)
        for i in (slice(0, n), slice(n, 2 * n))
    ]
    _, selection = choose(folds)
    best = int(np.argmax(flat.mean(axis=1)))
    lead, se = _lead(flat[best], flat[-1])
    assert lead <= STOP_GUARD * se and selection["stop_epoch"] is None


def test_the_plain_nets_curve_is_reported_and_never_chosen():
    # A plain kind (the round's plain net for C, stopped at its best epoch)
    # was measured and not kept: on the given labels it wins where it learns
    # systematic noise (benchmarks/diagnostics/diagnose_round_rules.py).
    rng = np.random.RandomState(1)
    n = 500
    kept = _curve(rng, 2 * n, [0.6, 0.62, 0.64, 0.65])
    plain = _curve(rng, 2 * n, [0.9, 0.95, 0.92, 0.9])
    halves = (slice(0, n), slice(n, 2 * n))
    folds = [
        _fold({"reweighted": kept[:, i], "fallback": kept[:, i] * 0, "plain": plain[:, i]}, n)
        for i in halves
    ]
    selected, selection = choose(folds)
    assert selected == "reweighted" and selection["stop_epoch"] is None
    np.testing.assert_allclose(selection["curves"]["plain"], plain.mean(axis=1))


def test_the_stop_is_the_kept_kinds_and_folds_of_unequal_length_are_cut():
    rng = np.random.RandomState(2)
    n = 400
    rew = _curve(rng, 2 * n, [0.5] * 6)
    fallback = _curve(rng, 2 * n, [0.7, 0.9, 0.75, 0.7, 0.7, 0.7])
    folds = [
        _fold({"reweighted": rew[:, :n], "fallback": fallback[:, :n], "plain": rew[:, :n]}, n),
        # A second fold with one epoch more (more rows, another "auto" budget).
        _fold(
            {
                "reweighted": np.vstack([rew[:, n:], rew[-1:, n:]]),
                "fallback": np.vstack([fallback[:, n:], fallback[-1:, n:]]),
                "plain": np.vstack([rew[:, n:], rew[-1:, n:]]),
            },
            n,
        ),
    ]
    selected, selection = choose(folds)
    assert selected == "fallback" and selection["stop_epoch"] == 2
    assert len(selection["curves"]["fallback"]) == 6


def test_best_epoch_and_paired_difference_by_hand():
    curve = np.array([[1.0, 0, 1, 1], [1, 1, 1, 1], [0, 0, 1, 0]])
    w = np.full(4, 0.25)
    mean, se = paired_difference(curve[1] - curve[2], w)
    assert (mean, se) == pytest.approx(_lead(curve[1], curve[2]))
    epoch, lead, err = best_epoch(curve, w, guard=1.0)
    assert (epoch, lead, err) == (1, pytest.approx(mean), pytest.approx(se))
    assert best_epoch(curve, w, guard=10.0)[0] == 2  # not clear enough


@pytest.mark.parametrize(
    "selected, stop, want",
    [
        ("reweighted", None, (10, 3, 5)),
        ("reweighted", 2, (2, 2, 0)),  # in the warm-up
        ("reweighted", 4, (4, 3, 0)),  # in the meta epochs
        ("reweighted", 7, (7, 3, 2)),  # two refinement epochs
        ("reweighted", 30, (10, 3, 5)),  # beyond the budget: the budget
        ("fallback", 4, (4, 0, 0)),
        ("fallback", None, (10, 0, 0)),
    ],
)
def test_final_schedule(selected, stop, want):
    assert final_schedule(selected, stop, 10, 3, 5) == want


class _Snapshots(Callback):
    """The module's parameters after every epoch."""

    def initialize(self):
        self.states = []
        return self

    def on_epoch_end(self, net, **kwargs):
        self.states.append({k: v.detach().clone() for k, v in net.module_.state_dict().items()})


def _force(monkeypatch, selected, stop):
    original = MetaReweightClassifier._choose

    def forced(self, folds):
        _, selection = original(self, folds)
        return selected, {**selection, "stop_epoch": stop}

    monkeypatch.setattr(MetaReweightClassifier, "_choose", forced)


def _states(net):
    """The snapshots the fitted copy of ``_Snapshots`` took."""
    return next(cb for _, cb in net.callbacks_ if isinstance(cb, _Snapshots)).states


def _assert_same_module(net, state):
    for key, value in net.module_.state_dict().items():
        np.testing.assert_array_equal(value.numpy(), state[key].numpy())


@pytest.mark.parametrize("stop", [1, 3, 6])
def test_a_stopped_reweighted_fit_is_the_full_fit_cut_short(small, monkeypatch, stop):
    X, y, mask = small
    snapshots = _Snapshots()
    full = MetaReweightClassifier(**SMALL, fallback=None, callbacks=[snapshots])
    full.fit(X, y, clean_mask=mask)
    _force(monkeypatch, "reweighted", stop)
    clf = MetaReweightClassifier(**SMALL).fit(X, y, clean_mask=mask)
    cut = _states(full.net_)[stop - 1]
    _assert_same_module(clf.net_, cut)
    assert clf.history_[:, "phase"] == full.history_[:, "phase"][:stop]
    assert clf.max_epochs_ == 8  # the budget; the fit took fewer epochs
    # Stopped in the warm-up (2 epochs), it has no meta epoch: the weights
    # are the round's; else the final fit's meta epochs'.
    assert np.isfinite(clf.example_weights_).all()
    assert np.isfinite(clf.label_quality_).all()

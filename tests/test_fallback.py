"""The fallback and the selection round that chooses it (issue 14): the rule
against hand computations, the fits it leads to, the make_moons case it fixes,
errors and interruption."""

import numpy as np
import pytest
import torch
from _reference import plain_accuracy
from sklearn.datasets import load_digits, make_moons
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

from sk_l2rw import MLP, MetaReweightClassifier, MetaReweightNet, MetaReweightRegressor
from sk_l2rw._selection import GUARD as _SELECTION_GUARD
from sk_l2rw._selection import STOP_GUARD as _STOP_GUARD
from sk_l2rw.datasets import make_noisy_labels, split_trusted

SMALL = dict(hidden_layer_sizes=(8,), max_epochs=8, batch_size=16, lr=0.01, random_state=0)
# max_epochs=8: 2 warm-up, 2 meta, 4 refinement epochs (test_phases.py).
PHASES = ["warmup"] * 2 + ["meta"] * 2 + ["refine"] * 4


@pytest.fixture(scope="module")
def moons():
    """Issue 14's case: make_moons(4000, noise=0.3), 30 % of labels flipped at
    random, 10 trusted rows per class."""
    X, y = make_moons(4000, noise=0.3, random_state=0)
    X = X.astype(np.float32)
    X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=0.25, random_state=0)
    y_noisy, _ = make_noisy_labels(y_tr, noise_rate=0.3, random_state=0)
    trusted = split_trusted(y_tr, n_per_class=10, random_state=0)
    return X_tr, np.where(trusted, y_tr, y_noisy), trusted, X_te, y_te


def _out_of_fold(folds, attr):
    out = np.full(len(folds[0].y_train_), np.nan)
    for net in folds:
        out[net.held_rows_] = getattr(net, attr)
    return out


def test_defaults_do_no_harm_where_plain_training_is_good(moons, round_folds):
    X_tr, y_fit, trusted, X_te, y_te = moons
    folds = round_folds
    plain = plain_accuracy(X_tr, y_fit, X_te, y_te)
    clf = MetaReweightClassifier(random_state=0).fit(X_tr, y_fit, clean_mask=trusted)
    reweighted = MetaReweightClassifier(random_state=0, fallback=None)
    reweighted.fit(X_tr, y_fit, clean_mask=trusted)
    scores = plain, clf.score(X_te, y_te), reweighted.score(X_te, y_te)
    # Measured: plain (one layer of 100, 50 epochs: the pin's reference since
    # issue 14) 0.914, the reweighted fit alone 0.903; the defaults 0.908 on
    # one CPU (the fallback ahead on the held-back rows by 0.0158, standard
    # error 0.0054; its best epoch led its last by 0.0013 only, so the final
    # fit ran its whole budget) and 0.913 on another (ahead by 0.0117, SE
    # 0.0053; its best epoch, the 39th, led by 0.0060, SE 0.0027, so the
    # final fit stopped there). The fits are deterministic on one machine,
    # not across CPUs: the pin is the rule, not where it stops.
    assert clf.selected_ == "fallback"
    assert scores[1] >= scores[0] - 0.01, scores
    assert scores[2] < scores[0], scores  # what the fallback is for
    # 2,990 training rows: 24 batches, so the "auto" budget is 50 epochs, all
    # of them Gold Loss Correction's in a fresh net, cut at the round's best
    # held-back epoch where that leads the last by more than STOP_GUARD SEs.
    sel = clf.selection_
    stopped = sel["stop_lead"] > max(_STOP_GUARD * sel["stop_standard_error"], 0)
    assert (sel["stop_epoch"] is not None) == stopped, sel["stop_epoch"]
    n_epochs = 50 if sel["stop_epoch"] is None else sel["stop_epoch"]
    assert clf.max_epochs_ == 50 and n_epochs <= 50
    assert clf.history_[:, "phase"] == ["fallback"] * n_epochs
    # No meta epoch in the final fit: the weights are the selection round's,
    # each row's from the fold that trained on it; the label quality is the
    # final fit's record, averaged for the untrusted rows with their margin
    # under the fallback model of the fold that held them back.
    assert np.isfinite(clf.example_weights_).all() and np.isfinite(clf.label_quality_).all()
    folds = folds[:2]  # the default fit's
    trained = [~net.holdout_ for net in folds]
    weights = [net.weight_sums_ / net.weight_epochs_ for net in folds]
    want = np.where(trained[0] & trained[1], (weights[0] + weights[1]) / 2, 0)
    want += np.where(trained[0] ^ trained[1], np.where(trained[0], weights[0], weights[1]), 0)
    np.testing.assert_allclose(clf.example_weights_, want)
    record = clf.net_.records()
    oof = _out_of_fold(folds, "holdout_fallback_record_")
    np.testing.assert_allclose(clf.label_quality_[trusted], record[trusted])
    np.testing.assert_allclose(clf.label_quality_[~trusted], ((record + oof) / 2)[~trusted])


def test_selection_round_and_its_rule(small):
    X, y, mask = small
    clf = MetaReweightClassifier(**SMALL).fit(X, y, clean_mask=mask)
    sel = clf.selection_
    assert sel["folds"] == 2 and sel["n_rows"] == (~mask).sum()
    for history in sel["histories"]:
        assert history[:, "phase"] == PHASES
    # The fallback of each fold: a fresh net, the whole budget.
    for history in sel["fallback_histories"]:
        assert history[:, "phase"] == ["fallback"] * 8
    # The rule: the fallback only when ahead by more than _SELECTION_GUARD
    # standard errors of the paired difference.
    ahead = sel["difference"] > max(_SELECTION_GUARD * sel["standard_error"], 0)
    assert clf.selected_ == ("fallback" if ahead else "reweighted")
    assert sel["difference"] == pytest.approx(sel["fallback"] - sel["reweighted"])
    expected = PHASES if clf.selected_ == "reweighted" else ["fallback"] * 8
    assert clf.history_[:, "phase"] == expected[: sel["stop_epoch"]]


@pytest.mark.parametrize("class_weight", [None, "trusted"])
def test_selection_scores_against_a_hand_computation(small, class_weight, round_folds):
    # Each fold's nets score the rows they held back: recompute the
    # accuracies (class-weighted to the trusted shares with "trusted") and
    # the standard error from those scores.
    X, y, mask = small
    seen = round_folds
    clf = MetaReweightClassifier(**SMALL, class_weight=class_weight).fit(X, y, clean_mask=mask)
    held = [np.isin(np.arange(len(y)), net.held_rows_) for net in seen]
    # The folds split the untrusted rows; trusted rows are never held back,
    # and each fold's nets train on every row it does not hold back.
    np.testing.assert_array_equal(held[0] ^ held[1], ~mask)
    for net, rows in zip(seen, held):
        np.testing.assert_array_equal(net.holdout_, rows)
    right = {k: [] for k in ("reweighted", "fallback")}
    weights = []
    for net in seen:
        rows = net.held_rows_
        counts = np.bincount(y[rows], minlength=2) / len(rows)
        trusted_share = np.bincount(y[mask], minlength=2) / mask.sum()
        share = trusted_share / counts if class_weight == "trusted" else np.ones(2)
        weights.append(share[y[rows]])
        for kind in right:
            right[kind].append(net.holdout_scores_[kind])
            assert set(np.unique(net.holdout_scores_[kind])) <= {0.0, 1.0}
    w = np.concatenate(weights)
    w /= w.sum()
    diff = np.concatenate(right["fallback"]) - np.concatenate(right["reweighted"])
    se = np.sqrt(np.sum(w * (diff - w @ diff) ** 2) * np.sum(w**2))
    assert clf.selection_["standard_error"] == pytest.approx(se)
    assert clf.selection_["reweighted"] == pytest.approx(w @ np.concatenate(right["reweighted"]))


def test_kept_reweighted_fit_is_the_fit_without_a_fallback(round_folds):
    X, y = load_digits(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    y_noisy, _ = make_noisy_labels(y, noise_rate=0.4, random_state=0)
    mask = split_trusted(y, n_per_class=10, random_state=0)
    y_fit = np.where(mask, y, y_noisy)
    params = dict(hidden_layer_sizes=(32,), max_epochs=10, lr=0.01, random_state=0)
    folds = round_folds
    clf = MetaReweightClassifier(**params).fit(X, y_fit, clean_mask=mask)
    alone = MetaReweightClassifier(**params, fallback=None).fit(X, y_fit, clean_mask=mask)
    assert clf.selected_ == "reweighted", clf.selection_
    # The selection round runs in a forked random generator: the final fit is
    # the fit without a fallback, draw for draw.
    np.testing.assert_array_equal(clf.predict_proba(X), alone.predict_proba(X))
    np.testing.assert_array_equal(clf.example_weights_, alone.example_weights_)
    # The label quality: that fit's record, averaged for the untrusted rows
    # with their margin under the reweighted model of the fold that held them back.
    oof = _out_of_fold(folds, "holdout_record_")
    np.testing.assert_array_equal(clf.label_quality_[mask], alone.label_quality_[mask])
    want = (alone.label_quality_ + oof) / 2
    np.testing.assert_allclose(clf.label_quality_[~mask], want[~mask])
    assert clf.history_[:, "phase"] == alone.history_[:, "phase"]
    assert alone.selected_ == "reweighted" and alone.selection_ is None


def test_corrected_loss_against_numpy():
    net = MetaReweightNet(MLP(3, 3, (4,)), fallback="corrected", classes=[0, 1, 2]).initialize()
    C = np.array([[0.7, 0.2, 0.1], [0.1, 0.8, 0.1], [0.3, 0.3, 0.4]], dtype=np.float32)
    net.corruption_ = torch.as_tensor(C)
    net.trusted_row_mask_ = np.array([False, True, False, False])
    logits = torch.tensor([[1.0, 0.0, -1.0], [0.5, 2.0, 0.0], [0.0, 0.0, 3.0], [-1.0, 1.0, 0.2]])
    y = torch.tensor([0, 1, 1, 2])
    rows = np.arange(4)
    got = net._fallback_losses(logits, y, rows).numpy()
    p = np.exp(logits.numpy()) / np.exp(logits.numpy()).sum(1, keepdims=True)
    want = -np.log((p @ C)[np.arange(4), y.numpy()])
    want[1] = -np.log(p[1, 1])  # a trusted row: its label is true
    np.testing.assert_allclose(got, want, rtol=1e-5)
    # "plain": the plain steps' cross-entropy.
    net.set_params(fallback="plain")
    plain = net._fallback_losses(logits, y, rows).numpy()
    np.testing.assert_allclose(plain, -np.log(p[np.arange(4), y.numpy()]), rtol=1e-5)


def test_corruption_matrix_is_the_trusted_rows_mean_softmax():
    torch.manual_seed(0)
    net = MetaReweightNet(MLP(2, 3, (4,)), fallback="corrected", classes=[0, 1, 2]).initialize()
    X = np.random.RandomState(0).randn(5, 2).astype(np.float32)
    y = np.array([0, 0, 1, 1, 1])  # no trusted row of class 2
    net.set_trusted(X, y)
    net._fallback_setup()
    with torch.no_grad():
        p = torch.softmax(net.module_(torch.as_tensor(X)), dim=1).numpy()
    want = np.stack([p[:2].mean(0), p[2:].mean(0), [0.0, 0.0, 1.0]])
    np.testing.assert_allclose(net.corruption_.numpy(), want, rtol=1e-5)


def test_corruption_matrix_comes_from_plain_nets_of_the_untrusted_rows(
    small, monkeypatch, round_folds
):
    # Gold Loss Correction as published: per fold, a plain net fitted to the
    # fold's untrusted training rows alone gives C; the final fallback fit is
    # a fresh corrected net with the folds' mean C.
    X, y, mask = small
    plain_nets = []
    original = MetaReweightNet.corruption_matrix

    def spy(self):
        plain_nets.append(self)
        return original(self)

    monkeypatch.setattr(MetaReweightNet, "corruption_matrix", spy)
    seen = round_folds
    clf = MetaReweightClassifier(**SMALL, fallback="corrected", warmup_epochs=0)
    clf.fit(X, y, clean_mask=mask)  # no warm-up needed any more
    plain_nets = [net for net in plain_nets if net.fallback == "plain"]
    assert len(plain_nets) == 2 and len(seen) == 2
    for net, fold in zip(plain_nets, seen):
        trained = np.flatnonzero(~net.holdout_)
        want = np.flatnonzero(~fold.holdout_ & ~mask)
        np.testing.assert_array_equal(trained, want)
        assert net.history[:, "phase"] == ["fallback"] * 8
    C = np.mean([fold.fold_corruption_ for fold in seen], axis=0)
    np.testing.assert_allclose(C.sum(axis=1), 1, rtol=1e-5)
    if clf.selected_ == "fallback":
        np.testing.assert_allclose(clf.net_.corruption_.numpy(), C, rtol=1e-6)


def test_fallback_errors(small):
    X, y, mask = small
    with pytest.raises(ValueError, match="fallback='corrected' is not available"):
        MetaReweightRegressor(max_epochs=4, fallback="corrected").fit(X, X[:, 0], clean_mask=mask)
    with pytest.raises(ValueError, match="'fallback' parameter"):
        MetaReweightClassifier(fallback="gold").fit(X, y, clean_mask=mask)


def test_no_selection_round_for_paper_exact_and_continued_fits(small):
    X, y, mask = small
    exact = MetaReweightClassifier(
        **{**SMALL, "warmup_epochs": 0, "refine_epochs": 0}, fallback=None
    )
    assert exact.fit(X, y, clean_mask=mask).selection_ is None
    plain = MetaReweightClassifier(**{**SMALL, "warmup_epochs": 0}, fallback="plain")
    assert plain.fit(X, y, clean_mask=mask).selection_ is not None
    clf = MetaReweightClassifier(**SMALL, warm_start=True).fit(X, y, clean_mask=mask)
    assert clf.selection_ is not None
    clf.fit(X, y)  # continues the model it has
    assert clf.selection_ is None and clf.selected_ == "reweighted"
    clf.partial_fit(X, y)
    assert clf.selection_ is None


def test_interruption_in_the_selection_round(small, monkeypatch):
    X, y, mask = small
    original = MetaReweightNet._plain_step

    def stop(self, *args, **kwargs):
        if self.phase_ == "fallback":
            raise KeyboardInterrupt
        return original(self, *args, **kwargs)

    monkeypatch.setattr(MetaReweightNet, "_plain_step", stop)
    clf = MetaReweightClassifier(**SMALL).fit(X, y, clean_mask=mask)
    # The fit ends in the first fold, with its reweighted model (the stop
    # came in the fold's next net, the plain one for C).
    assert clf.selected_ == "reweighted" and clf.selection_ is None
    assert clf.history_[:, "phase"] == PHASES
    assert clf.max_epochs_ == 8
    assert np.isfinite(clf.predict_proba(X)).all()
    held = clf.net_.holdout_
    assert held.any() and np.isnan(clf.example_weights_[held]).all()
    assert np.isfinite(clf.example_weights_[~held]).all()
    assert np.isnan(clf.label_quality_[held]).all()


def test_verbose_reports_the_selection(small, capsys):
    X, y, mask = small
    clf = MetaReweightClassifier(**SMALL, verbose=1).fit(X, y, clean_mask=mask)
    out = capsys.readouterr().out
    assert f"Selection round (2 folds, {(~mask).sum()} held-back rows)" in out
    assert f"the final fit is the {clf.selected_} kind" in out


def test_regressor_plain_fallback(small):
    X, _, mask = small
    y = X[:, 0] * 2 + np.where(np.arange(len(X)) % 5 == 0, 10.0, 0.0) * ~mask
    reg = MetaReweightRegressor(max_epochs=6, random_state=0, fallback="plain")
    reg.fit(X, y, clean_mask=mask)
    assert reg.selected_ in ("reweighted", "fallback")
    assert reg.selection_["n_rows"] == (~mask).sum()
    assert np.isfinite(reg.target_quality_).all()
    assert np.isfinite(reg.predict(X)).all()
    # "auto" is no fallback for regression (not measured yet).
    assert MetaReweightRegressor(max_epochs=6).fit(X, y, clean_mask=mask).selection_ is None


def test_clean_val_rows_are_never_held_back(small):
    X, y, mask = small
    clf = MetaReweightClassifier(**SMALL).fit(X[~mask], y[~mask], clean_val=(X[mask], y[mask]))
    assert clf.selection_["n_rows"] == (~mask).sum()
    assert clf.example_weights_.shape == ((~mask).sum(),)


def test_the_selection_round_is_visible(small, capsys):
    """verbose prints every fold's epochs before the final fit's, and a
    ProgressBar runs in each fold; other callbacks act on the final fit only."""
    from skorch.callbacks import EpochScoring, ProgressBar

    X, y, mask = small
    calls = []
    counter = EpochScoring(lambda net, X, y: calls.append(1) or 0.0, on_train=True, name="n")
    clf = MetaReweightClassifier(
        verbose=1, callbacks=[ProgressBar(), ("count", counter)], **{**SMALL, "max_epochs": 4}
    )
    clf.fit(X, y, clean_mask=mask)
    out, err = capsys.readouterr()
    folds = [out.index(f"Selection round, fold {k} of 2") for k in (1, 2)]
    final = out.index(f"Final fit ({clf.selected_} kind) on every row")
    assert folds[0] < folds[1] < final
    # Each fold's table: 4 epochs of the reweighted fit, 4 of the plain net
    # for C, 4 of the fallback.
    fold_table = out[folds[0] : folds[1]]
    assert fold_table.count("fallback ") >= 8 and "warmup" in fold_table
    assert len(calls) == len(clf.history_) == 4  # the scoring callback: the final fit only
    # One progress bar per epoch: 12 in each fold, 4 in the final fit.
    assert err.count(" 0/") == 12 + 12 + 4


def test_the_round_samples_at_most_max_rows_untrusted_rows(small, monkeypatch, round_folds):
    import sk_l2rw._selection as selection

    X, y, mask = small
    monkeypatch.setattr(selection, "MAX_ROWS", 60)
    seen = round_folds
    clf = MetaReweightClassifier(**SMALL, fallback="plain").fit(X, y, clean_mask=mask)
    assert clf.selection_["n_rows"] == 60
    held = np.concatenate([net.held_rows_ for net in seen])
    assert len(np.unique(held)) == 60 and not mask[held].any()
    # Each fold trains on the other fold's rows and every trusted row only.
    for net in seen:
        other = np.setdiff1d(held, net.held_rows_)
        np.testing.assert_array_equal(
            np.flatnonzero(~net.holdout_), np.union1d(other, np.flatnonzero(mask))
        )
    # Every row gets a weight and a record, the ones the round left out too.
    assert np.isfinite(clf.example_weights_).all() and np.isfinite(clf.label_quality_).all()
    if clf.selected_ == "fallback":
        left_out = np.setdiff1d(np.flatnonzero(~mask), held)
        np.testing.assert_array_equal(clf.example_weights_[left_out], 1.0)

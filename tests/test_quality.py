"""Regression tests for the quality benchmark's headlines (``benchmarks/quality.py``):
the margin over plain training on noisy digits (scenarios digits-uniform-40 and
trusted-1, seed 0), and the defaults' parts -- warm-up, label margins,
refinement -- checked against hand-computed references."""

import copy

import numpy as np
import pytest
import torch
from _reference import plain_accuracy
from sklearn.datasets import load_digits
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler
from skorch.callbacks import Callback

from sk_l2rw import MetaReweightClassifier, MetaReweightNet
from sk_l2rw.datasets import make_noisy_labels, split_trusted


@pytest.fixture(scope="module")
def noisy_digits():
    X, y = load_digits(return_X_y=True)
    X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=0.25, stratify=y, random_state=0)
    scaler = StandardScaler().fit(X_tr)
    X_tr = scaler.transform(X_tr).astype(np.float32)
    X_te = scaler.transform(X_te).astype(np.float32)
    y_noisy, _ = make_noisy_labels(y_tr, noise_rate=0.4, random_state=0)
    trusted = split_trusted(y_tr, n_per_class=10, random_state=0)
    y_fit = np.where(trusted, y_tr, y_noisy)
    return X_tr, y_tr, y_fit, trusted, X_te, y_te


def _sub_trusted(y, trusted, per_class):
    """The first ``per_class`` trusted rows of each class."""
    out = np.zeros_like(trusted)
    for c in np.unique(y):
        out[np.flatnonzero(trusted & (y == c))[:per_class]] = True
    return out


def test_margin_over_plain_and_label_quality(noisy_digits):
    X_tr, y_tr, y_fit, trusted, X_te, y_te = noisy_digits
    plain = plain_accuracy(X_tr, y_fit, X_te, y_te)
    clf = MetaReweightClassifier(random_state=0)  # defaults: "auto", 91 epochs here
    clf.fit(X_tr, y_fit, clean_mask=trusted)
    l2rw = clf.score(X_te, y_te)
    # Measured: plain (one layer of 100, 50 epochs) 0.900, l2rw 0.942 (over
    # the benchmark's 5 seeds 0.950 against cleanlab's 0.906).
    assert l2rw - plain >= 0.03, (l2rw, plain)

    correct = (y_fit == y_tr)[~trusted]
    auc_quality = roc_auc_score(correct, clf.label_quality_[~trusted])
    auc_weights = roc_auc_score(correct, clf.example_weights_[~trusted])
    # Measured: label_quality_ 0.996, example_weights_ 0.870.
    assert auc_quality >= 0.98, auc_quality
    assert auc_quality > auc_weights
    assert clf.label_quality_.shape == (len(X_tr),)
    assert np.all((clf.label_quality_ >= -1) & (clf.label_quality_ <= 1))


def test_one_trusted_row_per_class(noisy_digits):
    # The benchmark's trusted-1 scenario, seed 0: where the paper's step alone
    # falls below plain training, the defaults (warm-up, refinement on the rows
    # with a positive label margin) do not.
    X_tr, y_tr, y_fit, trusted, X_te, y_te = noisy_digits
    # (The other 9 rows per class of the fixture's trusted set keep their true
    # labels as untrusted rows; the benchmark noises them.)
    one = _sub_trusted(y_tr, trusted, 1)
    plain = plain_accuracy(X_tr, y_fit, X_te, y_te)
    default = MetaReweightClassifier(random_state=0).fit(X_tr, y_fit, clean_mask=one)
    exact = MetaReweightClassifier(random_state=0, warmup_epochs=0, refine_epochs=0, fallback=None)
    exact.fit(X_tr, y_fit, clean_mask=one)
    scores = plain, default.score(X_te, y_te), exact.score(X_te, y_te)
    # Measured: plain (one layer of 100, 50 epochs) 0.900, defaults 0.918
    # (0.929 with class_weight="trusted", the default before issue 18's
    # class-weight scenarios), paper-exact 0.869.
    assert scores[1] - scores[0] >= 0.01, scores
    assert scores[1] - scores[2] >= 0.04, scores


def test_refine_epochs_are_the_last_of_max_epochs(noisy_digits):
    X_tr, _, y_fit, trusted, _, _ = noisy_digits
    params = dict(hidden_layer_sizes=(16,), warmup_epochs=1, lr=0.01, random_state=0)
    params["fallback"] = None  # the reweighted fit's phases
    fit = MetaReweightClassifier(**params, max_epochs=5, refine_epochs=2)
    fit.fit(X_tr, y_fit, clean_mask=trusted)
    assert fit.history_[:, "phase"] == ["warmup", "meta", "meta", "refine", "refine"]
    # The epochs before the refinement are those of a 3-epoch fit without one.
    short = MetaReweightClassifier(**params, max_epochs=3, refine_epochs=0)
    short.fit(X_tr, y_fit, clean_mask=trusted)
    np.testing.assert_array_equal(fit.example_weights_, short.example_weights_)
    np.testing.assert_array_equal(fit.label_quality_, short.label_quality_)
    assert not np.allclose(fit.predict_proba(X_tr), short.predict_proba(X_tr))
    # "auto" is half of max_epochs, rounded down.
    auto = MetaReweightClassifier(**params, max_epochs=5).fit(X_tr, y_fit, clean_mask=trusted)
    np.testing.assert_array_equal(auto.predict_proba(X_tr), fit.predict_proba(X_tr))


def test_refinement_weights_classes_to_the_trusted_set():
    # 95 % of the training rows in class 0, a balanced trusted set: with
    # class_weight="trusted" the refinement's loss is class-balanced, so the
    # minority class is not swamped (balanced accuracy well above a plain model's).
    rng = np.random.RandomState(0)
    n0, n1 = 1900, 100
    X = np.r_[rng.normal(0, 1, (n0, 2)), rng.normal(1.5, 1, (n1, 2))].astype(np.float32)
    y = np.r_[np.zeros(n0, int), np.ones(n1, int)]
    trusted = np.zeros(len(y), bool)
    trusted[:10] = trusted[n0 : n0 + 10] = True
    X_te = np.r_[rng.normal(0, 1, (500, 2)), rng.normal(1.5, 1, (500, 2))].astype(np.float32)
    y_te = np.r_[np.zeros(500, int), np.ones(500, int)]
    params = dict(
        hidden_layer_sizes=(16,), max_epochs=5, lr=0.01, class_weight="trusted", random_state=0
    )
    exact = MetaReweightClassifier(refine_epochs=0, **params).fit(X, y, clean_mask=trusted)
    refined = MetaReweightClassifier(**params).fit(X, y, clean_mask=trusted)
    recall = [(m.predict(X_te)[y_te == 1] == 1).mean() for m in (exact, refined)]
    # Measured: minority recall 0.842 paper-exact, 0.850 with the refinement,
    # 0.628 with the same refinement unweighted (benchmarks/quality_variants.py's
    # _continue on the kept rows).
    assert recall[1] >= 0.75, recall


def test_auto_budget_is_1000_steps_within_50_to_500_epochs():
    from sk_l2rw._base import auto_epochs

    # ceil(1000 / batches per epoch), batches = ceil(rows / batch_size).
    cases = {1: 500, 128: 500, 129: 500, 300: 334, 2_000: 63, 6_400: 50, 20_000: 50, 10**6: 50}
    for n_rows, epochs in cases.items():
        assert auto_epochs(n_rows, 128) == epochs, n_rows
    assert auto_epochs(300, 32) == 100  # 10 batches
    with pytest.raises(ValueError, match="'max_epochs' parameter"):
        MetaReweightClassifier(max_epochs="long").fit([[0.0], [1.0]], [0, 1])


@pytest.mark.parametrize("value", [-1, "never", 1.5])
def test_refine_epochs_validated(noisy_digits, value):
    X_tr, _, y_fit, trusted, _, _ = noisy_digits
    with pytest.raises(ValueError, match="'refine_epochs' parameter"):
        MetaReweightClassifier(refine_epochs=value).fit(X_tr, y_fit, clean_mask=trusted)


class _Snapshot(Callback):
    """Copies the module's parameters at the end of every epoch."""

    def initialize(self):
        self.params = []
        return self

    def on_epoch_end(self, net, **kwargs):
        self.params.append([p.detach().clone() for p in net.module_.parameters()])


def _margin(logits, y):
    p = torch.softmax(logits, 1)
    given = p[torch.arange(len(y)), y]
    other = p.clone()
    other[torch.arange(len(y)), y] = -1
    return given - other.max(1).values


@pytest.mark.parametrize("class_weight", [None, "trusted"])
def test_warmup_step_and_label_quality_by_hand(class_weight):
    # One batch per epoch; epoch 1 is warm-up, epoch 2 a meta step. By hand:
    # the warm-up is one Adam step on the cross-entropy (with
    # class_weight="trusted", with class weights trusted share / training
    # share), and label_quality_ is the mean of each row's margin under the
    # initial and the once-updated parameters.
    rng = np.random.RandomState(0)
    X = rng.normal(size=(40, 3)).astype(np.float32)
    y = np.r_[np.zeros(30, int), np.ones(10, int)]
    trusted = np.zeros(40, bool)
    trusted[[0, 1, 30, 31]] = True
    module = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Tanh(), torch.nn.Linear(4, 2))
    snap = _Snapshot()
    clf = MetaReweightClassifier(
        module=module,
        max_epochs=2,
        warmup_epochs=1,
        refine_epochs=0,
        batch_size=40,
        lr=0.05,
        callbacks=[("snap", snap)],
        random_state=0,
        fallback=None,  # label_quality_: the training record alone
        class_weight=class_weight,
    ).fit(X, y, clean_mask=trusted)
    assert clf.history_[:, "phase"] == ["warmup", "meta"]
    assert "ess_frac" not in clf.history_[0] and "ess_frac" in clf.history_[1]
    assert clf.net_.weight_epochs_ == 1  # example_weights_: the meta epoch alone

    ref = copy.deepcopy(module)
    Xt, yt = torch.from_numpy(X), torch.from_numpy(y)
    before = _margin(ref(Xt), yt)
    # Trusted shares 1/2, 1/2; training shares 3/4, 1/4.
    weight = None if class_weight is None else torch.tensor([0.5 / 0.75, 0.5 / 0.25])
    optimizer = torch.optim.Adam(ref.parameters(), lr=0.05)
    torch.nn.functional.cross_entropy(ref(Xt), yt, weight=weight).backward()
    optimizer.step()
    after_warmup = dict(clf.net_.callbacks_)["snap"].params[0]
    for mine, theirs in zip(after_warmup, ref.parameters(), strict=True):
        torch.testing.assert_close(mine, theirs.detach(), rtol=1e-5, atol=1e-6)
    expected = (before + _margin(ref(Xt), yt)) / 2
    np.testing.assert_allclose(clf.label_quality_, expected.detach().numpy(), atol=1e-5)


def test_warmup_epochs_auto_and_partial_fit(noisy_digits):
    X_tr, _, y_fit, trusted, _, _ = noisy_digits
    params = dict(hidden_layer_sizes=(16,), lr=0.01, refine_epochs=0, random_state=0)
    params["fallback"] = None  # the reweighted fit's phases
    clf = MetaReweightClassifier(max_epochs=6, **params).fit(X_tr, y_fit, clean_mask=trusted)
    # "auto": int(0.35 * 6) = 2 plain epochs, then 4 meta epochs.
    assert clf.history_[:, "phase"] == ["warmup"] * 2 + ["meta"] * 4
    assert ["ess_frac" in epoch for epoch in clf.history_] == [False] * 2 + [True] * 4
    one = MetaReweightClassifier(max_epochs=1, **params).fit(X_tr, y_fit, clean_mask=trusted)
    assert one.history_[:, "phase"] == ["meta"]
    assert MetaReweightClassifier(max_epochs=50)._phase_epochs(50, warm=False) == (17, 25)
    # The warm-up is capped at 17 epochs (35 % of 50) however long the budget.
    assert MetaReweightClassifier(max_epochs=500)._phase_epochs(500, warm=False) == (17, 250)
    assert MetaReweightClassifier()._budget(133, warm=False) == (500, 17, 250)
    assert MetaReweightClassifier()._budget(20_000, warm=False) == (50, 17, 25)
    # "auto" gives way so that one meta epoch remains; a warm start has no warm-up.
    for n, phases in ((2, (0, 1)), (3, (1, 1)), (4, (1, 2))):
        assert MetaReweightClassifier(max_epochs=n)._phase_epochs(n, warm=False) == phases
    assert MetaReweightClassifier(max_epochs=50)._phase_epochs(50, warm=True) == (0, 25)
    # partial_fit and a warm-started fit take meta steps from their first epoch.
    clf.partial_fit(X_tr, y_fit)
    assert clf.history_[-1, "phase"] == "meta"
    clf.set_params(warm_start=True, max_epochs=2).fit(X_tr, y_fit)
    assert clf.history_[-2:, "phase"] == ["meta", "meta"]


@pytest.mark.parametrize(
    "params, match",
    [
        (dict(warmup_epochs=-1), "'warmup_epochs' parameter"),
        (dict(warmup_epochs="half"), "'warmup_epochs' parameter"),
        (dict(warmup_epochs=5), r"warmup_epochs \+ refine_epochs must be smaller than max_epochs"),
        (dict(warmup_epochs=6), "got warmup_epochs=6, refine_epochs=auto and max_epochs=5"),
        (dict(warmup_epochs=2, refine_epochs=3), "refine_epochs=3 and max_epochs=5"),
        (dict(warmup_epochs="auto", refine_epochs=5), "refine_epochs=5 and max_epochs=5"),
    ],
)
def test_phase_epochs_validated(noisy_digits, params, match):
    X_tr, _, y_fit, trusted, _, _ = noisy_digits
    clf = MetaReweightClassifier(max_epochs=5, **params)
    with pytest.raises(ValueError, match=match):
        clf.fit(X_tr, y_fit, clean_mask=trusted)
    assert not hasattr(clf, "net_")


def test_refinement_keeps_trusted_rows_and_positive_margins(noisy_digits, monkeypatch):
    X_tr, y_tr, y_fit, trusted, _, _ = noisy_digits
    kept, visited = [], []
    original = MetaReweightNet.refine_rows

    def spy(self):
        kept.append(original(self))
        return kept[-1]

    class Visited(Callback):
        def on_batch_begin(self, net, batch=None, training=False, **kwargs):
            if net.history[-1, "phase"] == "refine":
                sampler = net.iterator_train__sampler
                visited.append(sampler._order[sampler._pos : sampler._pos + len(batch[0])])

    monkeypatch.setattr(MetaReweightNet, "refine_rows", spy)
    clf = MetaReweightClassifier(
        hidden_layer_sizes=(16,),
        max_epochs=6,
        lr=0.01,
        random_state=0,
        callbacks=[Visited()],
        fallback=None,
    )
    clf.fit(X_tr, y_fit, clean_mask=trusted)
    assert len(kept) == 1  # chosen once, when the refinement starts
    keep = np.zeros(len(X_tr), bool)
    keep[kept[0]] = True
    np.testing.assert_array_equal(keep, (clf.label_quality_ > 0) | trusted)
    # Each of the 3 refinement epochs visits every kept row once, and no other.
    rows = np.sort(np.concatenate(visited))
    np.testing.assert_array_equal(rows, np.repeat(np.flatnonzero(keep), 3))
    assert clf.history_[-3:, "kept_rows"] == [keep.sum()] * 3
    # The kept untrusted rows are mostly correctly labelled; the dropped ones mostly not.
    correct = y_fit == y_tr
    assert correct[keep & ~trusted].mean() > 0.9 > correct[~keep].mean()


def test_small_data_gets_a_budget_that_fits_it():
    # Issue 18's small-data case, the quality benchmark's risk-wine-pair-30,
    # seed 0: 133 training rows, 30 % pair noise, 5 trusted rows per class.
    # A fixed 50 epochs were 100 optimizer steps; "auto" gives 500 epochs
    # (1,000 steps), the warm-up capped at 17 of them. Plain training with the
    # same network and budget memorises the noise.
    from sklearn.datasets import load_wine

    from sk_l2rw._base import auto_epochs

    X, y = load_wine(return_X_y=True)
    X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=0.25, stratify=y, random_state=0)
    scaler = StandardScaler().fit(X_tr)
    X_tr, X_te = (
        scaler.transform(X_tr).astype(np.float32),
        scaler.transform(X_te).astype(np.float32),
    )
    y_noisy, _ = make_noisy_labels(y_tr, noise_rate=0.3, kind="pair", random_state=0)
    trusted = split_trusted(y_tr, n_per_class=5, random_state=0)
    y_fit = np.where(trusted, y_tr, y_noisy)
    epochs = auto_epochs(len(y_fit), 128)
    assert epochs == 500
    plain = plain_accuracy(X_tr, y_fit, X_te, y_te, hidden=(100, 100), epochs=epochs)
    clf = MetaReweightClassifier(random_state=0).fit(X_tr, y_fit, clean_mask=trusted)
    assert clf.max_epochs_ == epochs
    phases = clf.history_[:, "phase"]
    if clf.selected_ == "reweighted":
        assert phases.count("warmup") == 17 and phases.count("refine") == 250
    # Measured (as the benchmark's seed 0): plain 0.778, defaults 0.978.
    assert clf.score(X_te, y_te) - plain >= 0.1, (clf.score(X_te, y_te), plain)

"""Faults and continuity: divergence, dead epochs, interruption, warm starts,
persistence, reproducibility and devices."""

import hashlib
import io
import pickle
import subprocess
import sys
import textwrap
import warnings

import joblib
import numpy as np
import pytest
import torch
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from skorch.callbacks import Callback
from torch import nn

from sk_l2rw import DivergedError, MetaReweightClassifier

TINY = dict(hidden_layer_sizes=(8,), max_epochs=3, batch_size=16, lr=0.01, random_state=0)


@pytest.fixture(scope="module")
def data():
    rng = np.random.RandomState(0)
    X = rng.randn(80, 5)
    y = (X[:, 0] + 0.5 * X[:, 1] > 0).astype(int) + (X[:, 2] > 1)
    mask = np.zeros(len(y), bool)
    mask[rng.choice(len(y), 12, replace=False)] = True
    return X, y, mask


class StopAt(Callback):
    """Raise KeyboardInterrupt after batch ``batch`` of epoch ``epoch`` (0: at its start)."""

    def __init__(self, epoch, batch):
        self.epoch, self.batch = epoch, batch

    def on_epoch_begin(self, net, **kwargs):
        if len(net.history) == self.epoch and self.batch == 0:
            raise KeyboardInterrupt

    def on_batch_end(self, net, **kwargs):
        if len(net.history) == self.epoch and len(net.history[-1]["batches"]) == self.batch:
            raise KeyboardInterrupt


class CountEpochs(Callback):
    def __init__(self):
        self.epochs = 0

    def on_epoch_end(self, net, **kwargs):
        self.epochs += 1


class InfLogits(nn.Module):
    def __init__(self, n_features, n_classes):
        super().__init__()
        self.lin = nn.Linear(n_features, n_classes)

    def forward(self, x):
        return self.lin(x) * float("inf")


# -- divergence ------------------------------------------------------------------


@pytest.mark.parametrize(
    "params, match",
    [
        (
            dict(optimizer="sgd", lr=1e8, fallback=None),
            r"diverged in epoch 1 \(warmup\): .*Try a smaller lr \(it is 1\d*\.0\)",
        ),
        # The selection round's nets say where they are.
        (
            dict(optimizer="sgd", lr=1e8),
            r"diverged in epoch \d \(\w+\) of the selection round's fold 1 of 2 "
            r"\(its reweighted fit\): .*smaller lr",
        ),
        (dict(module=InfLogits), r"loss became nan\. Try a smaller lr"),
    ],
)
def test_divergence_raises_and_leaves_no_model(data, params, match):
    X, y, mask = data
    clf = MetaReweightClassifier(**{**TINY, **params})
    with pytest.raises(DivergedError, match=match) as info:
        clf.fit(X, y, clean_mask=mask)
    assert isinstance(info.value, FloatingPointError)
    with pytest.raises(NotFittedError):
        clf.predict(X)


def test_divergence_during_warm_start_unfits_the_estimator(data):
    X, y, mask = data
    clf = MetaReweightClassifier(**TINY, optimizer="sgd", warm_start=True).fit(
        X, y, clean_mask=mask
    )
    assert np.isfinite(clf.predict_proba(X)).all()
    with pytest.raises(DivergedError, match="smaller lr"):
        clf.set_params(lr=1e8).fit(X, y)
    assert not hasattr(clf, "net_") and not hasattr(clf, "example_weights_")
    with pytest.raises(NotFittedError):
        clf.predict_proba(X)
    # A fresh fit works again.
    clf.set_params(lr=0.01, warm_start=False).fit(X, y, clean_mask=mask)
    assert np.isfinite(clf.predict_proba(X)).all()


def test_epochs_with_only_zero_weights_warn_with_count():
    # Every trusted label is the opposite of the training label of the same
    # point, and the two points are far apart: every gradient disagrees.
    X = np.array([[3.0, 0.0], [-3.0, 0.0]] * 10)
    y = np.array([0, 1] * 10)
    clf = MetaReweightClassifier(
        **{**TINY, "hidden_layer_sizes": (), "batch_size": 8},
        warmup_epochs=0,
        refine_epochs=0,
        train_on_clean=False,
        fallback=None,  # the meta epochs' warning, without a selection round
    )
    with pytest.warns(
        ConvergenceWarning, match="Every training batch got weight 0 in 3 of 3 meta epochs"
    ):
        clf.fit(X, y, clean_val=(X[:2], 1 - y[:2]))
    assert clf.history_[:, "all_zero_batches"] == [3, 3, 3]
    np.testing.assert_array_equal(clf.example_weights_, 0)


def test_no_dead_epoch_warning_on_ordinary_fit(data):
    X, y, mask = data
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        clf = MetaReweightClassifier(**TINY).fit(X, y, clean_mask=mask)
        alone = MetaReweightClassifier(**TINY, fallback=None).fit(X, y, clean_mask=mask)
    assert all(z < 5 for z in alone.history_[:, "all_zero_batches"])
    assert clf.selected_ in ("reweighted", "fallback")


def test_failed_refit_leaves_no_stale_model(data):
    X, y, mask = data
    clf = MetaReweightClassifier(**TINY).fit(X, y, clean_mask=mask)
    with pytest.raises(ValueError, match=r"logits of shape \(n_rows, 2\)"):
        clf.set_params(module=nn.Linear(4, 3)).fit(X[:, :4], y % 2, clean_mask=mask)
    with pytest.raises(NotFittedError):
        clf.predict(X[:, :4])


# -- interruption, callbacks, warm start, partial_fit -------------------------------


def test_keyboard_interrupt_keeps_a_usable_model(data):
    X, y, mask = data
    # No warm-up: the completed first epoch is a meta epoch, with weights.
    # (fallback=None: the final fit is the reweighted one, whatever a round finds.)
    params = {**TINY, "fallback": None}
    stopped = MetaReweightClassifier(
        **params, warmup_epochs=0, callbacks=[StopAt(epoch=2, batch=2)]
    )
    stopped.fit(X, y, clean_mask=mask)
    assert len(stopped.history_) == 2
    assert len(stopped.history_[:, "train_loss"]) == 1  # the second epoch is incomplete
    proba = stopped.predict_proba(X)
    assert proba.shape == (len(X), 3) and np.isfinite(proba).all()
    # example_weights_ covers whole epochs only: the same as one epoch's fit.
    one = MetaReweightClassifier(**{**params, "max_epochs": 1}).fit(X, y, clean_mask=mask)
    np.testing.assert_array_equal(stopped.example_weights_, one.example_weights_)
    np.testing.assert_array_equal(stopped.label_quality_, one.label_quality_)
    # Training goes on from where it stopped.
    stopped.partial_fit(X, y)
    assert len(stopped.history_) == 3


@pytest.mark.parametrize("epoch, phase", [(1, "warmup"), (3, "meta"), (5, "refine")])
def test_keyboard_interrupt_in_each_phase_keeps_a_usable_model(data, epoch, phase):
    X, y, mask = data
    # max_epochs=6, "auto": 2 warm-up, 1 meta, 3 refinement epochs.
    params = {**TINY, "max_epochs": 6}
    stopped = MetaReweightClassifier(**params, callbacks=[StopAt(epoch=epoch, batch=2)])
    stopped.fit(X, y, clean_mask=mask)
    assert len(stopped.history_) == epoch and stopped.history_[-1, "phase"] == phase
    assert "train_loss" not in stopped.history_[-1]  # the last epoch is incomplete
    assert np.isin(stopped.predict(X), stopped.classes_).all()
    assert np.isfinite(stopped.predict_proba(X)).all()
    # example_weights_ and label_quality_ cover whole epochs only: as a fit
    # stopped just before the interrupted epoch.
    whole = MetaReweightClassifier(**params, callbacks=[StopAt(epoch=epoch, batch=0)])
    whole.fit(X, y, clean_mask=mask)
    np.testing.assert_array_equal(stopped.example_weights_, whole.example_weights_)
    np.testing.assert_array_equal(stopped.label_quality_, whole.label_quality_)
    # Training goes on from where it stopped.
    stopped.partial_fit(X, y)
    assert len(stopped.history_) == epoch + 1


def test_keyboard_interrupt_in_first_epoch(data):
    X, y, mask = data
    clf = MetaReweightClassifier(**TINY, fallback=None, callbacks=[StopAt(epoch=1, batch=1)])
    clf.fit(X, y, clean_mask=mask)
    assert np.isnan(clf.example_weights_).all()  # no epoch completed
    assert np.isnan(clf.label_quality_).all()
    assert np.isin(clf.predict(X), clf.classes_).all()


def test_callbacks_are_copied_and_run(data):
    X, y, mask = data
    counter = CountEpochs()
    clf = MetaReweightClassifier(**TINY, callbacks=[("count", counter)]).fit(X, y, clean_mask=mask)
    assert counter.epochs == 0  # the user's instance is left as given
    assert dict(clf.net_.callbacks_)["count"].epochs == 3
    assert clf.get_params()["callbacks"][0][1] is counter


def test_warm_start_continues_with_same_trusted_set(data):
    X, y, mask = data
    clf = MetaReweightClassifier(**TINY, warm_start=True).fit(X, y, clean_mask=mask)
    module, trusted = clf.net_.module_, clf.net_.trusted_X_
    before = [p.detach().clone() for p in module.parameters()]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "No trusted set given" warning
        clf.fit(X[~mask][:40], y[~mask][:40])
    assert clf.net_.module_ is module and clf.net_.trusted_X_ is trusted
    assert len(clf.history_) == 6
    assert any(not torch.equal(a, b) for a, b in zip(before, module.parameters(), strict=True))
    # example_weights_: the rows of the latest call, its epochs only.
    assert clf.example_weights_.shape == (40,) and np.isfinite(clf.example_weights_).all()
    # A new trusted set replaces the old one.
    rows = [np.flatnonzero(y == k)[0] for k in range(3)]
    clf.fit(X, y, clean_val=(X[rows], y[rows]))
    assert len(clf.net_.trusted_y_) == 3 and len(clf.history_) == 9
    # warm_start=False starts afresh.
    clf.set_params(warm_start=False).fit(X, y, clean_mask=mask)
    assert clf.net_.module_ is not module and len(clf.history_) == 3


def test_partial_fit_one_epoch_per_call(data):
    X, y, mask = data
    some = y < 2  # the first batch lacks class 2
    clf = MetaReweightClassifier(**TINY)
    with pytest.warns(UserWarning, match=r"no rows of classes \[2\]"):
        clf.partial_fit(X[some], y[some], classes=[0, 1, 2], clean_mask=mask[some])
    np.testing.assert_array_equal(clf.classes_, [0, 1, 2])
    assert len(clf.history_) == 1
    trusted = clf.net_.trusted_X_
    for expected in (2, 3):
        clf.partial_fit(X, y)
        assert len(clf.history_) == expected and clf.net_.trusted_X_ is trusted
    assert clf.predict_proba(X).shape == (len(X), 3)
    # Seeded: the same calls give the same model.
    again = MetaReweightClassifier(**TINY)
    with pytest.warns(UserWarning, match="no rows of classes"):
        again.partial_fit(X[some], y[some], classes=[0, 1, 2], clean_mask=mask[some])
    again.partial_fit(X, y).partial_fit(X, y)
    np.testing.assert_array_equal(again.predict_proba(X), clf.predict_proba(X))
    np.testing.assert_array_equal(again.example_weights_, clf.example_weights_)


# -- persistence -------------------------------------------------------------------


def test_pickle_and_joblib_round_trips(data):
    X, y, mask = data
    # With the trusted-share weighting, so that the net holds class weights.
    clf = MetaReweightClassifier(**TINY, class_weight="trusted").fit(X, y, clean_mask=mask)
    buffer = io.BytesIO()
    joblib.dump(clf, buffer)
    buffer.seek(0)
    for loaded in (pickle.loads(pickle.dumps(clf)), joblib.load(buffer)):
        np.testing.assert_array_equal(loaded.predict_proba(X), clf.predict_proba(X))
        np.testing.assert_array_equal(loaded.example_weights_, clf.example_weights_)
        np.testing.assert_array_equal(loaded.label_quality_, clf.label_quality_)
        assert len(loaded.history_) == 3
        loaded.partial_fit(X, y)  # still trainable, with its trusted set
        assert len(loaded.history_) == 4
    # The trusted tensors go through skorch's device-mapping pickling, as
    # module_ does, so that a model fitted on a GPU loads on a CPU.
    state = clf.net_.__getstate__()
    assert clf.net_.plain_class_weight_ is not None  # the last epoch is a refinement epoch
    assert not {"trusted_X_", "trusted_y_", "plain_class_weight_", "module_"} & set(state)


# -- reproducibility -----------------------------------------------------------------

_SCRIPT = """
import hashlib, pickle, sys
import numpy as np, torch
torch.set_num_threads(1)
from sk_l2rw import MetaReweightClassifier
rng = np.random.RandomState(0)
X = rng.randn(80, 5)
y = (X[:, 0] + 0.5 * X[:, 1] > 0).astype(int) + (X[:, 2] > 1)
mask = np.zeros(len(y), bool)
mask[rng.choice(len(y), 12, replace=False)] = True
clf = MetaReweightClassifier(**{params!r}).fit(X, y, clean_mask=mask)
with open(sys.argv[1], "rb") as f:
    loaded = pickle.load(f)
for arr in (clf.example_weights_, clf.predict_proba(X), loaded.predict_proba(X)):
    print(hashlib.sha256(np.ascontiguousarray(arr).tobytes()).hexdigest())
"""


def _global_rng_states():
    return torch.get_rng_state(), np.random.get_state()  # noqa: NPY002 (the global one)


def _assert_same_rng_states(now, before):
    assert torch.equal(now[0], before[0])
    assert all(np.array_equal(a, b) for a, b in zip(now[1], before[1], strict=True))


def _digest(arr):
    return hashlib.sha256(np.ascontiguousarray(arr).tobytes()).hexdigest()


def test_same_seed_same_fit_in_process_and_across_processes(data, tmp_path):
    X, y, mask = data
    before = _global_rng_states()
    a = MetaReweightClassifier(**TINY).fit(X, y, clean_mask=mask)
    b = MetaReweightClassifier(**TINY).fit(X, y, clean_mask=mask)
    np.testing.assert_array_equal(a.example_weights_, b.example_weights_)
    np.testing.assert_array_equal(a.predict_proba(X), b.predict_proba(X))
    other = MetaReweightClassifier(**{**TINY, "random_state": 1}).fit(X, y, clean_mask=mask)
    assert not np.array_equal(other.example_weights_, a.example_weights_)

    path = tmp_path / "model.pkl"
    path.write_bytes(pickle.dumps(a))
    script = textwrap.dedent(_SCRIPT).format(params=TINY)
    out = subprocess.run(
        [sys.executable, "-c", script, str(path)], capture_output=True, text=True, check=True
    ).stdout.split()
    proba = a.predict_proba(X)
    assert out == [_digest(a.example_weights_), _digest(proba), _digest(proba)]
    # The caller's global random state is untouched by all of the above.
    _assert_same_rng_states(_global_rng_states(), before)


def test_random_state_instance_and_rng_untouched_by_partial_fit(data):
    X, y, mask = data
    before = _global_rng_states()
    params = {**TINY, "random_state": np.random.RandomState(3)}
    a = MetaReweightClassifier(**params).partial_fit(X, y, clean_mask=mask)
    params = {**TINY, "random_state": np.random.RandomState(3)}
    b = MetaReweightClassifier(**params).partial_fit(X, y, clean_mask=mask)
    np.testing.assert_array_equal(a.example_weights_, b.example_weights_)
    a.partial_fit(X, y).predict(X)
    _assert_same_rng_states(_global_rng_states(), before)


# -- devices --------------------------------------------------------------------------


@pytest.mark.skipif(torch.cuda.is_available(), reason="a GPU is present")
def test_cuda_without_gpu_fails_clearly_at_fit(data):
    X, y, mask = data
    clf = MetaReweightClassifier(**TINY, device="cuda")  # constructing is fine
    with pytest.raises(ValueError, match=r"device='cuda' but no CUDA GPU is available; use"):
        clf.fit(X, y, clean_mask=mask)
    assert not hasattr(clf, "net_")


def test_unknown_device(data):
    X, y, mask = data
    with pytest.raises(ValueError, match="device='tpu0' is not a torch device"):
        MetaReweightClassifier(**TINY, device="tpu0").fit(X, y, clean_mask=mask)

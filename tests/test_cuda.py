"""Every path on a CUDA device: each meta method, sparse batches, sample
weights, the selection round, the carried estimator, and a model fitted on
the GPU loaded by a CPU-only process.

Each test runs on the CPU and, where a CUDA GPU is present, on it too (the
``cuda`` cases are skipped otherwise): the CPU cases keep the tests honest on
machines without a GPU, the CUDA cases are the point.
"""

import os
import pickle
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import scipy.sparse as sp
import torch
from sklearn.linear_model import LogisticRegression

from sk_l2rw import MetaReweightClassifier, ReweightedClassifier
from sk_l2rw._meta import meta_step
from sk_l2rw._modules import MLP

DEVICES = [
    "cpu",
    pytest.param(
        "cuda",
        marks=[
            pytest.mark.cuda,
            pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA GPU"),
        ],
    ),
]
TINY = dict(hidden_layer_sizes=(8,), max_epochs=4, batch_size=16, lr=0.01, random_state=0)


@pytest.fixture(scope="module")
def data():
    rng = np.random.RandomState(0)
    X = rng.randn(120, 5)
    y = (X[:, 0] + 0.5 * X[:, 1] > 0).astype(int) + (X[:, 2] > 1)
    flip = rng.rand(len(y)) < 0.2
    y_noisy = np.where(flip, (y + 1) % 3, y)
    mask = np.zeros(len(y), bool)
    mask[rng.choice(len(y), 18, replace=False)] = True
    return X, np.where(mask, y, y_noisy), mask


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("method", ["fast", "general", "recipe"])
def test_each_meta_method_gives_the_cpus_weights(device, method):
    torch.manual_seed(0)
    module = MLP(5, 3, (16, 16))
    x, y = torch.randn(32, 5), torch.randint(0, 3, (32,))
    xc, yc = torch.randn(12, 5), torch.randint(0, 3, (12,))
    sw = torch.rand(32)
    on_cpu = meta_step(module, x, y, xc, yc, method=method, sample_weight=sw)
    cpu_grads = [p.grad.clone() for p in module.parameters()]
    module.zero_grad()
    moved = module.to(device)
    on_device = meta_step(
        moved,
        x.to(device),
        y.to(device),
        xc.to(device),
        yc.to(device),
        method=method,
        sample_weight=sw.to(device),
    )
    assert on_device.weights.device.type == device
    torch.testing.assert_close(on_device.weights.cpu(), on_cpu.weights, rtol=1e-4, atol=1e-6)
    for grad, ref in zip((p.grad for p in moved.parameters()), cpu_grads):
        torch.testing.assert_close(grad.cpu(), ref, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("device", DEVICES)
def test_sparse_batches_fit_as_dense_ones(data, device):
    X, y, mask = data
    dense = MetaReweightClassifier(**TINY, fallback=None, device=device)
    sparse = MetaReweightClassifier(**TINY, fallback=None, device=device)
    dense.fit(X, y, clean_mask=mask)
    sparse.fit(sp.csr_matrix(X), y, clean_mask=mask)
    np.testing.assert_allclose(
        sparse.predict_proba(sp.csr_matrix(X)), dense.predict_proba(X), rtol=1e-4, atol=1e-5
    )
    np.testing.assert_allclose(sparse.example_weights_, dense.example_weights_, rtol=1e-4)


@pytest.mark.parametrize("device", DEVICES)
def test_sample_weights_on_the_device(data, device):
    X, y, mask = data
    weight = np.where(np.arange(len(y)) % 4 == 0, 0.0, 2.0)
    clf = MetaReweightClassifier(**TINY, fallback=None, device=device)
    clf.fit(X, y, clean_mask=mask, sample_weight=weight)
    assert next(clf.net_.module_.parameters()).device.type == device
    # A row of sample weight 0 takes no part in a meta step.
    zero = (weight == 0) & ~mask
    np.testing.assert_array_equal(clf.example_weights_[zero], 0.0)
    assert np.isfinite(clf.predict_proba(X)).all()


@pytest.mark.parametrize("device", DEVICES)
def test_the_selection_round_on_the_device(data, device):
    X, y, mask = data
    clf = MetaReweightClassifier(**TINY, device=device).fit(X, y, clean_mask=mask)
    assert clf.selected_ in {"reweighted", "fallback"}
    assert clf.selection_["folds"] == 2 and np.isfinite(clf.selection_["difference"])
    assert next(clf.net_.module_.parameters()).device.type == device
    assert np.isfinite(clf.example_weights_[~mask]).all()


@pytest.mark.parametrize("device", DEVICES)
def test_the_carried_estimator_with_a_reweighter_on_the_device(data, device):
    X, y, mask = data
    reweighter = MetaReweightClassifier(**TINY, device=device)
    clf = ReweightedClassifier(LogisticRegression(), reweighter=reweighter, random_state=0)
    clf.fit(X, y, clean_mask=mask)
    assert clf.carry_ in {"none", "weights", "filter", "upweight", "prune", "relabel"}
    assert clf.predict(X).shape == y.shape


_LOAD = """
import pickle, sys
import numpy as np, torch
assert not torch.cuda.is_available()
with open(sys.argv[1], "rb") as f:
    clf, X, proba = pickle.load(f)
np.testing.assert_allclose(clf.predict_proba(X), proba, rtol=1e-4, atol=1e-6)
assert next(clf.net_.module_.parameters()).device.type == "cpu"
# Trainable on the CPU once told so.
clf.set_params(device="cpu").partial_fit(X[:20], np.asarray(clf.classes_)[np.arange(20) % 3])
print("ok")
"""


@pytest.mark.parametrize("device", DEVICES)
def test_a_model_fitted_on_the_device_loads_in_a_cpu_only_process(data, device, tmp_path):
    X, y, mask = data
    clf = MetaReweightClassifier(**TINY, device=device).fit(X, y, clean_mask=mask)
    path = tmp_path / "model.pkl"
    path.write_bytes(pickle.dumps((clf, X, clf.predict_proba(X))))
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": ""}
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(_LOAD), str(path)],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"

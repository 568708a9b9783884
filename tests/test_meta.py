"""The meta step against independent references: the paper's recipe, by hand."""

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn
from torch.func import functional_call

from sk_l2rw import MLP
from sk_l2rw._meta import _layer_scores, fast_path_problem, meta_step, resolve_method

METHODS = ["fast", "general", "recipe"]


def paper_recipe(module, x, y, xc, yc, alpha=0.1):
    """Ren et al. (2018), Algorithm 1, written out independently of the library.

    Returns the weights and the gradient of the weighted loss. ``alpha`` is a
    real virtual learning rate: the weights must not depend on it.
    """
    params = dict(module.named_parameters())
    buffers = {k: b.clone() for k, b in module.named_buffers()}
    losses = F.cross_entropy(
        functional_call(module, {**params, **buffers}, (x,)), y, reduction="none"
    )
    eps = torch.zeros(len(y), dtype=losses.dtype, requires_grad=True)
    grads = torch.autograd.grad((eps * losses).sum(), list(params.values()), create_graph=True)
    theta_hat = {k: p - alpha * g for (k, p), g in zip(params.items(), grads)}
    scratch = {k: b.clone() for k, b in module.named_buffers()}
    clean = F.cross_entropy(functional_call(module, {**theta_hat, **scratch}, (xc,)), yc)
    (d_eps,) = torch.autograd.grad(clean, eps)
    w = torch.clamp(-d_eps, min=0)
    w = w / w.sum() if w.sum() > 0 else w
    grad = torch.autograd.grad((w.detach() * losses).sum(), list(params.values()))
    return w.detach(), [g.detach() for g in grad]


def run(module, batch, method, seed=0):
    module.zero_grad(set_to_none=True)
    torch.manual_seed(seed)
    step = meta_step(module, *batch, method=method)
    grads = [p.grad for p in module.parameters()]
    return step, grads


def batch(n=12, m=5, d=6, k=3, dtype=torch.float64, seed=0):
    g = torch.Generator().manual_seed(seed)
    return (
        torch.randn(n, d, generator=g, dtype=dtype),
        torch.randint(0, k, (n,), generator=g),
        torch.randn(m, d, generator=g, dtype=dtype),
        torch.randint(0, k, (m,), generator=g),
    )


class Residual(nn.Module):
    """Not a Sequential: the fast path must refuse it, the general one cope."""

    def __init__(self, d=6, k=3):
        super().__init__()
        self.a, self.b, self.out = nn.Linear(d, d), nn.Linear(d, d), nn.Linear(d, k)

    def forward(self, x):
        return self.out(x + torch.tanh(self.b(torch.relu(self.a(x)))))


ARCHITECTURES = {
    "linear": lambda: MLP(6, 3, ()),
    "mlp": lambda: MLP(6, 3, (8,)),
    "deep_tanh": lambda: MLP(6, 3, (8, 7), activation="tanh"),
    "gelu_dropout": lambda: MLP(6, 3, (9, 5), activation="gelu", dropout=0.3),
    "no_bias_nested": lambda: nn.Sequential(
        nn.Sequential(nn.Linear(6, 8, bias=False), nn.ELU()),
        nn.Dropout(0.2),
        nn.Linear(8, 3, bias=False),
    ),
}


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("arch", ARCHITECTURES)
def test_matches_paper_recipe(arch, method):
    torch.manual_seed(1)
    module = ARCHITECTURES[arch]().double()
    data = batch()
    torch.manual_seed(7)  # dropout masks: train forward first, then trusted
    w_ref, g_ref = paper_recipe(module, *data)
    step, grads = run(module, data, method, seed=7)
    torch.testing.assert_close(step.weights, w_ref, rtol=1e-9, atol=1e-12)
    for g, r in zip(grads, g_ref):
        torch.testing.assert_close(g, r, rtol=1e-9, atol=1e-12)
    assert step.weights.sum().item() == pytest.approx(1.0)


@pytest.mark.parametrize("method", METHODS)
def test_float32_matches_recipe(method):
    torch.manual_seed(2)
    module = MLP(6, 3, (32, 32))
    data = batch(n=64, m=20, dtype=torch.float32)
    w_ref, _ = paper_recipe(module, *data)
    step, _ = run(module, data, method)
    torch.testing.assert_close(step.weights, w_ref, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize(
    "bias, expected", [(False, [0.25, 0, 0.5, 0.25]), (True, [0.4, 0, 0.6, 0])]
)
@pytest.mark.parametrize("method", METHODS)
def test_hand_computed_case(method, bias, expected):
    # W = 0 gives p = (1/2, 1/2), so dl_i/dz_i = p - onehot(y_i) = +-(1/2, -1/2).
    # Trusted row x=1, y=0: G_W = (-1/2, 1/2)^T, G_b = (-1/2, 1/2).
    # u_i = x_i (g_i . G_W) [+ g_i . G_b]: rows (x, y) = (1,0) (1,1) (2,0) (-1,1)
    # give 0.5 -0.5 1.0 0.5 without bias, 1.0 -1.0 1.5 0.0 with it.
    module = nn.Sequential(nn.Linear(1, 2, bias=bias)).double()
    with torch.no_grad():
        for p in module.parameters():
            p.zero_()
    x = torch.tensor([[1.0], [1.0], [2.0], [-1.0]], dtype=torch.float64)
    data = (x, torch.tensor([0, 1, 0, 1]), torch.ones(1, 1, dtype=torch.float64), torch.tensor([0]))
    step, _ = run(module, data, method)
    torch.testing.assert_close(step.weights, torch.tensor(expected, dtype=torch.float64))


@pytest.mark.parametrize("method", METHODS)
def test_all_zero_weights_leave_no_gradient(method):
    # Every training label disagrees with the only trusted row.
    module = nn.Sequential(nn.Linear(1, 2)).double()
    with torch.no_grad():
        for p in module.parameters():
            p.zero_()
    x = torch.ones(3, 1, dtype=torch.float64)
    data = (x, torch.ones(3, dtype=torch.long), x[:1], torch.tensor([0]))
    step, grads = run(module, data, method)
    assert torch.all(step.weights == 0)
    assert all(g is None for g in grads)


@pytest.mark.parametrize("method", ["general", "recipe"])
@pytest.mark.parametrize(
    "make",
    [
        Residual,
        lambda: nn.Sequential(nn.Linear(6, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Linear(8, 3)),
    ],
)
def test_general_modules_match_recipe(make, method):
    torch.manual_seed(3)
    module = make().double()
    data = batch()
    w_ref, g_ref = paper_recipe(module, *data)
    step, grads = run(module, data, method)
    torch.testing.assert_close(step.weights, w_ref, rtol=1e-9, atol=1e-12)
    for g, r in zip(grads, g_ref):
        torch.testing.assert_close(g, r, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("method", ["general", "recipe"])
def test_batchnorm_running_stats_move_once(method):
    torch.manual_seed(4)
    module = nn.Sequential(nn.Linear(6, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Linear(8, 3)).double()
    plain = nn.Sequential(*[m for m in module]).double()
    x, y, xc, yc = batch()
    reference = {k: b.clone() for k, b in module.named_buffers()}
    run(module, (x, y, xc, yc), method)
    # A plain train-mode forward over the training rows alone, from the old stats:
    for k, b in plain.named_buffers():
        b.copy_(reference[k])
    plain(x)
    for (k, b), (_, expected) in zip(module.named_buffers(), plain.named_buffers()):
        torch.testing.assert_close(b, expected, msg=k)


@pytest.mark.parametrize(
    "module, reason",
    [
        (Residual(), "not a torch.nn.Sequential"),
        (nn.Sequential(nn.Linear(6, 8), nn.BatchNorm1d(8), nn.Linear(8, 3)), "BatchNorm1d"),
        (nn.Sequential(nn.Linear(6, 8), nn.LayerNorm(8), nn.Linear(8, 3)), "LayerNorm"),
        (nn.Sequential(nn.Linear(6, 6), nn.PReLU(), nn.Linear(6, 3)), "PReLU"),
        (nn.Sequential(nn.ReLU()), "no Linear"),
    ],
)
def test_fast_path_refuses(module, reason):
    assert reason in fast_path_problem(module)
    assert resolve_method(module, "auto") == "general"
    with pytest.raises(ValueError, match="meta_method='fast' cannot be used"):
        resolve_method(module, "fast")


def test_fast_path_refuses_reused_layer_and_custom_forward():
    lin = nn.Linear(4, 4)
    assert "more than once" in fast_path_problem(nn.Sequential(lin, nn.ReLU(), lin))

    class Shortcut(nn.Sequential):
        def forward(self, x):
            return super().forward(x) + x

    assert "overrides Sequential.forward" in fast_path_problem(Shortcut(nn.Linear(4, 4)))


def test_unknown_method():
    with pytest.raises(ValueError, match="meta_method must be one of"):
        resolve_method(MLP(2, 2), "magic")


@pytest.mark.parametrize("n, m, d_in, d_out", [(10, 2, 50, 40), (10, 30, 3, 4)])
def test_layer_score_forms_agree(n, m, d_in, d_out):
    # Shapes that pick each branch; compare with explicit per-example gradients.
    g = torch.Generator().manual_seed(0)
    at, gt = torch.randn(n, d_in, generator=g), torch.randn(n, d_out, generator=g)
    ac, gc = torch.randn(m, d_in, generator=g), torch.randn(m, d_out, generator=g)
    per_example = torch.einsum("no,ni->noi", gt, at)
    clean = torch.einsum("mo,mi->oi", gc, ac)
    expected = (per_example * clean).sum((1, 2)) + gt @ gc.sum(0)
    torch.testing.assert_close(_layer_scores(at, gt, ac, gc, has_bias=True), expected)


@settings(max_examples=30, deadline=None)
@given(
    n=st.integers(1, 20),
    m=st.integers(1, 8),
    k=st.integers(2, 5),
    seed=st.integers(0, 2**16),
    method=st.sampled_from(METHODS),
)
def test_weight_invariants(n, m, k, seed, method):
    torch.manual_seed(seed)
    module = MLP(4, k, (6,)).double()
    x, y, xc, yc = batch(n=n, m=m, d=4, k=k, seed=seed)
    step, _ = run(module, (x, y, xc, yc), method)
    w = step.weights
    assert torch.all(w >= 0)
    assert torch.all(w == 0) or abs(w.sum().item() - 1) < 1e-9
    # Equivariant to permuting the batch.
    perm = torch.randperm(n)
    permuted, _ = run(module, (x[perm], y[perm], xc, yc), method)
    torch.testing.assert_close(permuted.weights, w[perm], rtol=1e-7, atol=1e-12)


# -- sample weights ------------------------------------------------------------------


def weighted_recipe(module, x, y, xc, yc, sw, cw, alpha=0.1):
    """The paper's recipe with sample weights, written out independently: the
    virtual step on ``sum_i eps_i sw_i l_i``, the trusted loss the
    ``cw``-weighted mean."""
    params = dict(module.named_parameters())
    losses = F.cross_entropy(functional_call(module, params, (x,)), y, reduction="none")
    eps = torch.zeros(len(y), dtype=losses.dtype, requires_grad=True)
    grads = torch.autograd.grad((eps * sw * losses).sum(), list(params.values()), create_graph=True)
    theta_hat = {k: p - alpha * g for (k, p), g in zip(params.items(), grads)}
    clean_rows = F.cross_entropy(functional_call(module, theta_hat, (xc,)), yc, reduction="none")
    clean = (clean_rows * cw).sum() / cw.sum()
    (d_eps,) = torch.autograd.grad(clean, eps)
    w = torch.clamp(-d_eps, min=0)
    w = w / w.sum() if w.sum() > 0 else w
    grad = torch.autograd.grad((w.detach() * losses).sum(), list(params.values()))
    return w.detach(), [g.detach() for g in grad], clean.detach()


def _weights(n, seed):
    g = torch.Generator().manual_seed(seed)
    w = torch.rand(n, generator=g, dtype=torch.float64) * 3
    w[0] = 0.0  # a row of weight 0
    return w


@pytest.mark.parametrize(
    "arch, method",
    [(a, m) for a in ("linear", "mlp", "deep_tanh") for m in METHODS]
    + [("residual", "general"), ("residual", "recipe")],  # the fast path refuses it
)
def test_sample_weights_match_weighted_recipe(arch, method):
    torch.manual_seed(3)
    module = (Residual if arch == "residual" else ARCHITECTURES[arch])().double()
    x, y, xc, yc = batch(seed=4)
    sw, cw = _weights(len(y), 1), _weights(len(yc), 2)
    w_ref, g_ref, clean_ref = weighted_recipe(module, x, y, xc, yc, sw, cw)
    module.zero_grad(set_to_none=True)
    step = meta_step(module, x, y, xc, yc, method=method, sample_weight=sw, clean_weight=cw)
    assert step.weights[0] == 0 and step.weights.sum() == pytest.approx(1.0)
    torch.testing.assert_close(step.weights, w_ref)
    torch.testing.assert_close(step.clean_loss, clean_ref)
    for p, g in zip(module.parameters(), g_ref):
        torch.testing.assert_close(p.grad, g)


@pytest.mark.parametrize("method", METHODS)
def test_integer_weights_equal_repeated_rows(method):
    """Within one step a weight of 2 is the row twice, on either side."""
    torch.manual_seed(0)
    module = MLP(6, 3, (8,)).double()
    x, y, xc, yc = batch(seed=5)
    sw = torch.ones(len(y), dtype=torch.float64)
    cw = torch.ones(len(yc), dtype=torch.float64)
    sw[[1, 4]], cw[2] = 2.0, 3.0
    weighted, grads = run_weighted(module, (x, y, xc, yc), method, sw, cw)
    train_rows = torch.tensor([0, 1, 1, 2, 3, 4, 4, *range(5, len(y))])
    clean_rows = torch.tensor([0, 1, 2, 2, 2, *range(3, len(yc))])
    repeated = (x[train_rows], y[train_rows], xc[clean_rows], yc[clean_rows])
    plain, plain_grads = run(module, repeated, method)
    # The repeated row's copies together carry the weighted row's weight.
    summed = torch.zeros(len(y), dtype=torch.float64).index_add_(0, train_rows, plain.weights)
    torch.testing.assert_close(weighted.weights, summed)
    torch.testing.assert_close(weighted.clean_loss, plain.clean_loss)
    for g, h in zip(grads, plain_grads):
        torch.testing.assert_close(g, h)


def run_weighted(module, batch, method, sw, cw):
    module.zero_grad(set_to_none=True)
    step = meta_step(module, *batch, method=method, sample_weight=sw, clean_weight=cw)
    return step, [p.grad.clone() for p in module.parameters()]

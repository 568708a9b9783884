"""The meta-reweighting step of Ren et al. (2018), in pure torch.

One step, given a training batch ``(x, y)`` and a trusted batch ``(xc, yc)``:
the weight of example ``i`` is ``max(u_i, 0)`` normalised over the batch, with
``u_i = grad L_c(theta) . grad l_i(theta)`` -- minus the derivative of the
trusted loss after a virtual SGD step on ``sum_i eps_i l_i`` at ``eps = 0``
(the virtual learning rate cancels in the normalisation). Then the gradient of
``sum_i w_i l_i`` is left in the parameters' ``.grad`` for the optimizer.

With sample weights ``s_i`` (and ``s_j`` on the trusted rows), the virtual step
is on ``sum_i eps_i s_i l_i`` and the trusted loss is the ``s``-weighted mean,
so ``u_i`` becomes ``s_i u_i``: a row of weight 2 counts as the row twice in
the batch, on either side.

Three exact ways to get ``u``, which agree to float tolerance:

- ``"fast"``: per-layer closed form for ``Sequential`` stacks of ``Linear``
  layers and elementwise activations (paper eq. 12). With ``a_i`` a layer's
  input and ``g_i`` the gradient of ``l_i`` w.r.t. its output,
  ``grad_W l_i = g_i a_i^T``, so ``u_i`` and the weighted update come from one
  forward/backward over the training and trusted rows together.
- ``"general"``: any module. The trusted gradient ``v``, then
  ``u = d/d eps (grad_theta sum_i eps_i l_i) . v`` by double backward, reusing
  the training forward for the weighted update.
- ``"recipe"``: the paper's recipe, autograd through the virtual step with
  :func:`torch.func.functional_call`; about 3x a plain step, kept as the
  reference.

Nothing here imports scikit-learn or skorch.
"""

from contextlib import contextmanager
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import nn
from torch.func import functional_call

METHODS = ("auto", "fast", "general", "recipe")

# Parameter-free modules that act on each row (and each element) on its own.
_ELEMENTWISE = (
    nn.ReLU,
    nn.ReLU6,
    nn.LeakyReLU,
    nn.ELU,
    nn.SELU,
    nn.CELU,
    nn.GELU,
    nn.SiLU,
    nn.Mish,
    nn.Tanh,
    nn.Sigmoid,
    nn.Softplus,
    nn.Hardtanh,
    nn.Hardswish,
    nn.Hardsigmoid,
    nn.Identity,
    nn.Dropout,
)


class MetaStep(NamedTuple):
    """What one meta step returns (all detached)."""

    weights: torch.Tensor  # (n,), >= 0, sum 1 or all 0
    losses: torch.Tensor  # (n,), per-example training losses
    clean_loss: torch.Tensor  # scalar, trusted loss at theta
    logits: torch.Tensor  # (n, k), training-batch outputs


def cross_entropy(logits, y):
    """Per-example cross-entropy, the default loss."""
    return F.cross_entropy(logits, y, reduction="none")


def weighted_mean(values, weight=None):
    """The mean of ``values``, weighted by ``weight`` when given (0 when every
    weight is 0)."""
    if weight is None:
        return values.mean()
    weight = weight.to(values.dtype)
    return (values * weight).sum() / weight.sum().clamp_min(1e-12)


def normalise(u):
    """Rectify and normalise raw meta scores; all zero stays all zero."""
    w = torch.clamp(u, min=0)
    total = w.sum()
    return w / total if total > 0 else torch.zeros_like(w)


def fast_path_problem(module):
    """Why the fast path cannot handle ``module``, or ``None`` if it can."""
    if not isinstance(module, nn.Sequential):
        return f"it is a {type(module).__name__}, not a torch.nn.Sequential"
    seen = set()
    for _, sub in module.named_modules(remove_duplicate=False):
        if isinstance(sub, nn.Sequential):
            if type(sub).forward is not nn.Sequential.forward:
                return f"{type(sub).__name__} overrides Sequential.forward"
            continue
        if isinstance(sub, nn.Linear):
            if id(sub) in seen:
                return "a Linear layer is used more than once"
            seen.add(id(sub))
        elif not isinstance(sub, _ELEMENTWISE):
            return (
                f"it contains {type(sub).__name__}; only Linear layers and "
                "parameter-free elementwise activations or Dropout are supported"
            )
    own = {
        id(p) for lin in module.modules() if isinstance(lin, nn.Linear) for p in lin.parameters()
    }
    if any(id(p) not in own for p in module.parameters()):
        return "it has parameters outside its Linear layers"
    if not seen:
        return "it has no Linear layer"
    return None


def resolve_method(module, method):
    """Map ``"auto"`` to ``"fast"`` or ``"general"``; refuse an impossible ``"fast"``."""
    if method not in METHODS:
        raise ValueError(f"meta_method must be one of {METHODS}; got {method!r}.")
    problem = fast_path_problem(module)
    if method == "auto":
        return "general" if problem else "fast"
    if method == "fast" and problem:
        raise ValueError(f"meta_method='fast' cannot be used with this module: {problem}.")
    return method


def meta_step(
    module,
    x,
    y,
    xc,
    yc,
    *,
    method="auto",
    loss_fn=cross_entropy,
    sample_weight=None,
    clean_weight=None,
):
    """Compute the example weights and leave the weighted gradient in ``.grad``.

    ``module`` must be in the mode wanted for training (``module.train()``) and
    its parameters' ``.grad`` must be ``None`` (as after ``zero_grad()``). When
    every weight is 0 the gradients stay ``None``, so that torch optimizers skip
    the step entirely (paper eq. 9: the step changes nothing).

    Parameters
    ----------
    module : torch.nn.Module
        Maps a float batch to logits.
    x, y : torch.Tensor
        Training batch, ``n`` rows.
    xc, yc : torch.Tensor
        Trusted batch, ``m`` rows.
    method : {"auto", "fast", "general", "recipe"}
        How to compute the meta scores; see the module docstring. An explicit
        ``"fast"`` is trusted here: check it once with :func:`resolve_method`.
    loss_fn : callable
        ``loss_fn(logits, y)`` returning one loss per row.
    sample_weight : torch.Tensor or None
        Non-negative weights of the ``n`` training rows (None: all 1). They
        multiply the raw scores before the normalisation.
    clean_weight : torch.Tensor or None
        Non-negative weights of the ``m`` trusted rows, with a positive sum
        (None: all 1): the trusted loss is their weighted mean.

    Returns
    -------
    MetaStep
    """
    if method not in ("fast", "general", "recipe"):
        method = resolve_method(module, method)
    step = {"fast": _fast_step, "general": _general_step, "recipe": _recipe_step}[method]
    return step(module, x, y, xc, yc, loss_fn, _Weights(sample_weight, clean_weight))


class _Weights(NamedTuple):
    """A step's sample weights: training rows', trusted rows' (None: all 1)."""

    train: torch.Tensor | None
    clean: torch.Tensor | None

    def clean_mean(self, losses):
        """The trusted loss: the (weighted) mean of the trusted rows' losses."""
        return weighted_mean(losses, self.clean)

    def scale(self, u):
        """The raw scores of the weighted virtual step."""
        return u if self.train is None else u * self.train.to(u.dtype)


@contextmanager
def frozen_buffers(module):
    """Let the block update scratch copies of the buffers, not the real ones.

    The trusted forward is a measurement, not training: it must not move
    BatchNorm running statistics a second time per step. Swapping in copies,
    rather than restoring values in place, keeps the training graph's saved
    tensors valid.
    """
    saved = [
        (mod, name, buf)
        for mod in module.modules()
        for name, buf in mod._buffers.items()
        if buf is not None
    ]
    for mod, name, buf in saved:
        mod._buffers[name] = buf.clone()
    try:
        yield
    finally:
        for mod, name, buf in saved:
            mod._buffers[name] = buf


def _params(module):
    return [p for p in module.parameters() if p.requires_grad]


def _set_grads(params, grads):
    for p, g in zip(params, grads):
        if g is not None:
            p.grad = g.detach() if p.grad is None else p.grad + g.detach()


def _weighted_update(params, u, losses, sw):
    """Normalise the scores; leave the weighted loss's gradient in ``.grad``."""
    weights = normalise(sw.scale(u.detach()))
    if weights.sum() > 0:
        _set_grads(params, torch.autograd.grad((weights * losses).sum(), params, allow_unused=True))
    return weights


def _general_step(module, x, y, xc, yc, loss_fn, sw):
    params = _params(module)
    logits = module(x)
    losses = loss_fn(logits, y)
    with frozen_buffers(module):
        clean_loss = sw.clean_mean(loss_fn(module(xc), yc))
    v = torch.autograd.grad(clean_loss, params, allow_unused=True)
    eps = torch.zeros_like(losses, requires_grad=True)
    grads = torch.autograd.grad((eps * losses).sum(), params, create_graph=True, allow_unused=True)
    dot = sum((g * vi).sum() for g, vi in zip(grads, v) if g is not None and vi is not None)
    if isinstance(dot, int) or not dot.requires_grad:
        u = torch.zeros_like(losses)  # no parameter connects the two losses
    else:
        u = torch.autograd.grad(dot, eps)[0]
    weights = _weighted_update(params, u, losses, sw)
    return MetaStep(weights, losses.detach(), clean_loss.detach(), logits.detach())


def _recipe_step(module, x, y, xc, yc, loss_fn, sw):
    named = {k: p for k, p in module.named_parameters() if p.requires_grad}
    logits = module(x)
    losses = loss_fn(logits, y)
    eps = torch.zeros_like(losses, requires_grad=True)
    grads = torch.autograd.grad(
        (eps * losses).sum(), list(named.values()), create_graph=True, allow_unused=True
    )
    # Virtual SGD step with rate 1: the rate cancels in the normalisation.
    virtual = {k: p if g is None else p - g for (k, p), g in zip(named.items(), grads)}
    with frozen_buffers(module):
        clean_virtual = sw.clean_mean(loss_fn(functional_call(module, virtual, (xc,)), yc))
    (d_eps,) = torch.autograd.grad(clean_virtual, eps, allow_unused=True)
    u = torch.zeros_like(losses) if d_eps is None else -d_eps
    weights = _weighted_update(list(named.values()), u, losses, sw)
    # At eps = 0 the virtual parameters equal theta, so this is L_c(theta).
    return MetaStep(weights, losses.detach(), clean_virtual.detach(), logits.detach())


def _leaves(module):
    """The leaf modules of a (nested) plain Sequential, in forward order."""
    for child in module:
        if isinstance(child, nn.Sequential):
            yield from _leaves(child)
        else:
            yield child


def _taped_forward(leaves, x):
    """Sequential's forward, keeping each Linear layer's input and output."""
    inputs, outputs = [], []
    for leaf in leaves:
        if isinstance(leaf, nn.Linear):
            inputs.append(x.detach())
            x = leaf(x)
            outputs.append(x)
        else:
            x = leaf(x)
    return x, inputs, outputs


def _fast_step(module, x, y, xc, yc, loss_fn, sw):
    n = x.shape[0]
    leaves = list(_leaves(module))
    layers = [leaf for leaf in leaves if isinstance(leaf, nn.Linear)]
    if any(isinstance(leaf, nn.Dropout) and leaf.training and leaf.p > 0 for leaf in leaves):
        # Separate forwards keep the training rows' dropout masks identical
        # to those of a plain forward over the batch (and to the recipe's).
        logits, a_t, z_t = _taped_forward(leaves, x)
        losses = loss_fn(logits, y)
        g_t = torch.autograd.grad(losses.sum(), z_t)
        out_c, a_c, z_c = _taped_forward(leaves, xc)
        clean_loss = sw.clean_mean(loss_fn(out_c, yc))
        g_c = torch.autograd.grad(clean_loss, z_c)
    else:
        # Rows are independent through Linear and elementwise layers: one
        # forward and one backward over both sets give every a_i and g_i.
        out, a, z = _taped_forward(leaves, torch.cat([x, xc]))
        all_losses = loss_fn(out, torch.cat([y, yc]))
        logits, losses, clean_loss = out[:n], all_losses[:n], sw.clean_mean(all_losses[n:])
        g = torch.autograd.grad(losses.sum() + clean_loss, z)
        a_t, a_c = [t[:n] for t in a], [t[n:] for t in a]
        g_t, g_c = [t[:n] for t in g], [t[n:] for t in g]

    u = sum(
        _layer_scores(at, gt, ac, gc, has_bias=layer.bias is not None)
        for layer, at, gt, ac, gc in zip(layers, a_t, g_t, a_c, g_c)
    )
    weights = normalise(sw.scale(u))
    if weights.sum() > 0:
        for layer, at, gt in zip(layers, a_t, g_t):
            gw = gt * weights[:, None]
            layer.weight.grad = gw.T @ at
            if layer.bias is not None:
                layer.bias.grad = gw.sum(0)
    return MetaStep(weights, losses.detach(), clean_loss.detach(), logits.detach())


def _layer_scores(at, gt, ac, gc, *, has_bias):
    """``grad_layer l_i . grad_layer L_c`` for every training row ``i``."""
    n, d_in = at.shape
    m, d_out = gc.shape
    if m * (d_in + d_out) <= d_in * d_out * (1 + m / n):
        # Gram form: sum_j (g_i . gc_j)(a_i . ac_j), cheap when m is small.
        gg = gt @ gc.T
        scores = (gg * (at @ ac.T)).sum(1)
        return scores + gg.sum(1) if has_bias else scores
    # Matrix form: g_i^T G_W a_i with G_W = gc^T ac, cheap for narrow layers.
    scores = ((gt @ (gc.T @ ac)) * at).sum(1)
    return scores + gt @ gc.sum(0) if has_bias else scores

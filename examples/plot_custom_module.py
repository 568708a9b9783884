"""
=====================
A custom torch module
=====================

``module`` takes any PyTorch network that maps a float batch of shape
``(n, n_features)`` to logits of shape ``(n, n_classes)``, in two forms:

- a callable, such as a function or an ``nn.Module`` class, called as
  ``module(n_features, n_classes)`` at fit time, so the widths need not be
  known in advance and ``random_state`` seeds the initialisation;
- an ``nn.Module`` instance, deep-copied at every fit so that refits start
  from the same weights.

``meta_method="auto"`` (the default) picks the fast per-layer closed form for a
``Sequential`` stack of ``Linear`` layers and elementwise activations, and the
general double-backward computation for anything else. Both give the same
weights.
"""

# %%
import numpy as np
import torch
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler
from torch import nn

from sk_l2rw import MetaReweightClassifier
from sk_l2rw.datasets import make_noisy_labels, split_trusted

torch.set_num_threads(1)
X, y = load_digits(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.3, stratify=y, random_state=0)
scaler = StandardScaler().fit(X_train)
X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)
y_noisy, _ = make_noisy_labels(y_train, noise_rate=0.4, random_state=0)
trusted = split_trusted(y_train, n_per_class=10, random_state=0)
y_noisy = np.where(trusted, y_train, y_noisy)

# %%
# A function returning a ``Sequential`` stack: the fast path applies.


def two_layer_net(n_features, n_classes):
    return nn.Sequential(
        nn.Linear(n_features, 64),
        nn.Tanh(),
        nn.Linear(64, 64),
        nn.Tanh(),
        nn.Linear(64, n_classes),
    )


clf = MetaReweightClassifier(module=two_layer_net, max_epochs=20, random_state=0)
clf.fit(X_train, y_noisy, clean_mask=trusted)
print(f"meta_method used: {clf.net_.meta_method_!r}, test accuracy {clf.score(X_test, y_test):.3f}")

# %%
# An ``nn.Module`` subclass with a residual connection and layer norm is not a
# ``Sequential`` stack, so ``"auto"`` falls back to ``"general"``.


class ResidualNet(nn.Module):
    def __init__(self, n_features, n_classes, width=64):
        super().__init__()
        self.inp = nn.Linear(n_features, width)
        self.block = nn.Sequential(nn.LayerNorm(width), nn.Linear(width, width), nn.GELU())
        self.out = nn.Linear(width, n_classes)

    def forward(self, x):
        h = torch.relu(self.inp(x))
        return self.out(h + self.block(h))


clf = MetaReweightClassifier(module=ResidualNet, max_epochs=20, random_state=0)
clf.fit(X_train, y_noisy, clean_mask=trusted)
print(f"meta_method used: {clf.net_.meta_method_!r}, test accuracy {clf.score(X_test, y_test):.3f}")

# %%
# An instance works too; it is copied, so ``net`` itself stays untrained and
# two fits with the same ``random_state`` start from the same weights.
torch.manual_seed(0)
net = ResidualNet(X.shape[1], 10, width=32)
clf = MetaReweightClassifier(module=net, max_epochs=20, random_state=0)
clf.fit(X_train, y_noisy, clean_mask=trusted)
print(f"instance: test accuracy {clf.score(X_test, y_test):.3f}")

# %%
# The fast and the general path compute the same weights. Over a short fit
# from the same initialisation the per-row weights agree up to float
# rounding, which training then slowly amplifies.
fits = {
    method: MetaReweightClassifier(
        module=two_layer_net, meta_method=method, max_epochs=2, random_state=0
    ).fit(X_train, y_noisy, clean_mask=trusted)
    for method in ("fast", "general")
}
diff = np.abs(fits["fast"].example_weights_ - fits["general"].example_weights_).max()
print(f"largest difference in example_weights_ after 2 epochs: {diff:.1e}")

"""
======================================
How the weights evolve during training
======================================

``history_`` (a skorch ``History``) records, for every epoch, what the
reweighting did, averaged over the epoch's batches:

- ``train_loss``: the unweighted mean loss of the training rows (on the noisy
  labels, so it need not fall far);
- ``clean_loss``: the loss on the trusted set before each step -- the quantity
  the weights are chosen to lower;
- ``zero_weight_frac``: the share of the batch's rows given weight 0;
- ``ess_frac``: the effective sample size ``1 / sum(w_i^2)`` as a share of
  the batch (1 when all rows weigh the same, small when a few rows carry the
  step);
- ``all_zero_batches``: steps skipped because every weight was 0.

This example fits the same noisy digits at two noise rates and plots them.
"""

# %%
import matplotlib.pyplot as plt
import numpy as np
import torch
from sklearn.datasets import load_digits
from sklearn.preprocessing import StandardScaler

from sk_l2rw import MetaReweightClassifier
from sk_l2rw.datasets import make_noisy_labels, split_trusted

torch.set_num_threads(1)
X, y = load_digits(return_X_y=True)
X = StandardScaler().fit_transform(X)
trusted = split_trusted(y, n_per_class=10, random_state=0)

histories = {}
for noise_rate in (0.0, 0.4):
    y_noisy, _ = make_noisy_labels(y, noise_rate=noise_rate, random_state=0)
    y_noisy = np.where(trusted, y, y_noisy)
    clf = MetaReweightClassifier(max_epochs=30, random_state=0)
    clf.fit(X, y_noisy, clean_mask=trusted)
    histories[noise_rate] = clf.history_

# %%
# ``history_[:, key]`` gives one value per epoch.
keys = ["train_loss", "clean_loss", "zero_weight_frac", "ess_frac"]
fig, axes = plt.subplots(2, 2, figsize=(9, 6), sharex=True, layout="constrained")
for ax, key in zip(axes.ravel(), keys, strict=True):
    for noise_rate, history in histories.items():
        ax.plot(history[:, "epoch"], history[:, key], label=f"{noise_rate:.0%} noisy labels")
    ax.set_title(key)
for ax in axes[1]:
    ax.set_xlabel("epoch")
axes[0, 0].legend()
plt.show()

# %%
# With 40 % noisy labels, a larger share of every batch gets weight 0 and the
# effective sample size is smaller: the network is trained on the rows that
# agree with the trusted set. Its unweighted loss on the noisy labels rises
# after a few epochs -- it stops fitting the wrong labels -- while the trusted
# loss falls as on clean data. Even on clean labels a share of rows gets
# weight 0, growing as training goes on. The last epoch in numbers:
last = {rate: h[-1] for rate, h in histories.items()}
print(f"{'':<18}" + "".join(f"{rate:>10.0%}" for rate in last))
for key in keys + ["all_zero_batches"]:
    print(f"{key:<18}" + "".join(f"{row[key]:>10.3f}" for row in last.values()))

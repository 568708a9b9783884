"""
==============================================
Quick start: noisy digits, plain vs reweighted
==============================================

40 % of the training labels of the digits data set are flipped to another
class at random; 10 rows per class are kept with their true labels as the
trusted set. A plain network trained on the noisy labels is compared with
:class:`~sk_l2rw.MetaReweightClassifier`, which weights every example of each
batch by how well its gradient agrees with the trusted set's. With its
defaults the reweighted epochs follow plain warm-up epochs and are followed by
refinement epochs on the rows whose label the network favoured during
training (see the user guide), all within ``max_epochs``, which by default
(``"auto"``) is sized to the data -- here 100 epochs, 1,000 optimizer steps --
and both runs here train that long. Before that fit, a selection round checks on held-back
folds that reweighting beats Gold Loss Correction on these data, and falls
back to it if not (``selected_`` says which the final fit is).
"""

# %%
# Data: bundled digits, uniform label noise, a trusted set marked by a mask.
import numpy as np
import torch
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler
from skorch import NeuralNetClassifier

from sk_l2rw import MLP, MetaReweightClassifier
from sk_l2rw.datasets import make_noisy_labels, split_trusted

torch.set_num_threads(1)
X, y = load_digits(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.3, stratify=y, random_state=0)
scaler = StandardScaler().fit(X_train)
X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)

y_noisy, corrupted = make_noisy_labels(y_train, noise_rate=0.4, random_state=0)
trusted = split_trusted(y_train, n_per_class=10, random_state=0)
y_noisy = np.where(trusted, y_train, y_noisy)  # trusted rows keep their true label
corrupted &= ~trusted

# %%
# Plain training (the same network, every example weighted equally) against
# meta-reweighting with its defaults. The plain net is a skorch
# ``NeuralNetClassifier`` around the same default :class:`~sk_l2rw.MLP`, with
# the same optimizer, learning rate, batch size and number of epochs (the
# budget the defaults chose, ``max_epochs_``).
reweighted = MetaReweightClassifier(random_state=0)
reweighted.fit(X_train, y_noisy, clean_mask=trusted)

torch.manual_seed(0)
plain = NeuralNetClassifier(
    MLP(X.shape[1], 10, hidden_layer_sizes=reweighted.hidden_layer_sizes),
    criterion=torch.nn.CrossEntropyLoss,
    optimizer=torch.optim.Adam,
    lr=reweighted.lr,
    max_epochs=reweighted.max_epochs_,
    batch_size=reweighted.batch_size,
    train_split=None,
    iterator_train__shuffle=True,
    verbose=0,
).fit(X_train.astype(np.float32), y_noisy)

acc_plain = plain.score(X_test.astype(np.float32), y_test)
acc_meta = reweighted.score(X_test, y_test)
w = reweighted.example_weights_
print(f"{'method':<28}{'test accuracy':>14}")
print(f"{'plain (noisy labels)':<28}{acc_plain:>14.3f}")
print(f"{'MetaReweightClassifier':<28}{acc_meta:>14.3f}")
print(
    f"mean example weight: corrupted rows {w[corrupted].mean():.2f}, "
    f"correct rows {w[~corrupted].mean():.2f}"
)
sel = reweighted.selection_
print(
    f"selection round: reweighted {sel['reweighted']:.3f}, fallback {sel['fallback']:.3f} "
    f"on {sel['n_rows']} held-back rows -> final fit: {reweighted.selected_}"
)

# %%
# Where the errors are
# --------------------
# Confusion matrices on the (clean) test set. With uniform noise the plain
# network's mistakes are spread over all pairs of classes; reweighting removes
# most of them.
import matplotlib.pyplot as plt  # noqa: E402
from sklearn.metrics import ConfusionMatrixDisplay  # noqa: E402

fig, axes = plt.subplots(1, 2, figsize=(10, 4.5), layout="constrained")
for ax, (name, y_pred) in zip(
    axes,
    [
        (f"plain, accuracy {acc_plain:.3f}", plain.predict(X_test.astype(np.float32))),
        (f"reweighted, accuracy {acc_meta:.3f}", reweighted.predict(X_test)),
    ],
    strict=True,
):
    ConfusionMatrixDisplay.from_predictions(y_test, y_pred, ax=ax, colorbar=False)
    ax.set_title(name)
plt.show()

"""Independent references the tests compare the estimators with."""

import numpy as np
import torch
from skorch import NeuralNetClassifier

from sk_l2rw import MLP

EPOCHS = 50  # the estimator default before the "auto" budget


def plain_accuracy(X, y, X_te, y_te, hidden=(100,), epochs=EPOCHS):
    """Test accuracy of plain skorch training: an MLP of ``hidden`` widths,
    Adam at lr 1e-3, batch 128, ``epochs`` epochs (by default the estimator's
    settings before the "auto" budget and two layers: one layer of 100, 50
    epochs)."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        net = NeuralNetClassifier(
            MLP(X.shape[1], len(np.unique(y)), hidden),
            criterion=torch.nn.CrossEntropyLoss,
            optimizer=torch.optim.Adam,
            lr=1e-3,
            max_epochs=epochs,
            batch_size=128,
            train_split=None,
            iterator_train__shuffle=True,
            verbose=0,
        ).fit(X, y.astype(np.int64))
    return float((net.predict(X_te) == y_te).mean())

"""Independent references the tests compare the estimators with."""

import numpy as np
import torch
from skorch import NeuralNetClassifier

from sk_l2rw import MLP

EPOCHS = 50  # the estimator default, as in the quality benchmark


def plain_accuracy(X, y, X_te, y_te):
    """Test accuracy of plain skorch training with the estimator's default net
    (one hidden layer of 100), optimizer, learning rate, batch size and epochs."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        net = NeuralNetClassifier(
            MLP(X.shape[1], len(np.unique(y)), (100,)),
            criterion=torch.nn.CrossEntropyLoss,
            optimizer=torch.optim.Adam,
            lr=1e-3,
            max_epochs=EPOCHS,
            batch_size=128,
            train_split=None,
            iterator_train__shuffle=True,
            verbose=0,
        ).fit(X, y.astype(np.int64))
    return float((net.predict(X_te) == y_te).mean())

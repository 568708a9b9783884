"""Where data enter: validated sample weights, sparse or dense rows, and the
batches the data loader hands the net.

A SciPy sparse ``X`` is kept sparse (CSR) from validation to the net and
densified a batch at a time, here; nothing else in the library needs to know
which kind it has.
"""

import numpy as np
import torch
from scipy import sparse
from sklearn.utils.validation import _check_sample_weight
from skorch.dataset import Dataset


class RowSampler(torch.utils.data.Sampler):
    """Random order of the training rows, remembered to credit weights to rows.

    Each epoch draws a permutation from torch's generator (as ``shuffle=True``
    would) of every row, or of ``rows`` when set (the refinement's kept rows);
    :meth:`take` hands out its next ``n`` row indices, batch by batch, in the
    order the data loader consumes them.
    """

    def __init__(self):
        self.n_rows = 0
        self.rows = None
        self._order = np.zeros(0, dtype=np.int64)
        self._pos = 0

    def __iter__(self):
        order = torch.randperm(len(self)).numpy()
        self._order = order if self.rows is None else self.rows[order]
        self._pos = 0
        return iter(self._order.tolist())

    def __len__(self):
        return self.n_rows if self.rows is None else len(self.rows)

    def take(self, n):
        rows = self._order[self._pos : self._pos + n]
        self._pos += n
        return rows


class BatchDataset(Dataset):
    """A skorch Dataset of arrays that the DataLoader indexes a batch at a time.

    skorch's default Dataset is indexed row by row and collated, which costs
    more than a small network's whole train step; ``__getitems__`` (used by
    torch's DataLoader when present) takes the batch's rows in one go. A
    SciPy sparse ``X`` (CSR) is densified a batch at a time, never whole.
    """

    def __getitems__(self, indices):
        idx = torch.as_tensor(indices)
        y = torch.zeros(len(idx)) if self.y is None else torch.as_tensor(self.y)[idx]
        return rows_tensor(self.X, idx), y


def dense_rows(X, rows=slice(None)):
    """Rows of an array or SciPy sparse matrix as a dense ndarray."""
    part = X[rows]
    return part.toarray() if sparse.issparse(part) else np.asarray(part)


def rows_tensor(X, rows=slice(None), device="cpu"):
    """Rows of an array or sparse matrix as a dense tensor (a view for a dense
    array and a slice)."""
    if sparse.issparse(X):
        rows = rows if isinstance(rows, slice) else np.asarray(rows)
        return torch.as_tensor(dense_rows(X, rows), device=device)
    if isinstance(X, np.ndarray) and not X.flags.writeable:
        # A read-only array (joblib's memory map under n_jobs): torch cannot
        # view it, so the rows are copied.
        rows = rows if isinstance(rows, slice) else np.asarray(rows)
        return torch.as_tensor(np.array(X[rows]), device=device)
    if not isinstance(rows, slice):
        rows = torch.as_tensor(rows)
    return torch.as_tensor(X)[rows].to(device)


def batch_collate(batch):
    """The batch is already collated by :meth:`BatchDataset.__getitems__`."""
    return batch


def check_weights(sample_weight, X):
    """``sample_weight`` as a float64 array, one non-negative finite weight per
    row of ``X``, not all 0; or None. Errors name ``sample_weight``."""
    if sample_weight is None:
        return None
    try:
        weight = _check_sample_weight(sample_weight, X, dtype=np.float64, ensure_non_negative=True)
    except ValueError as exc:
        if "sample_weight" not in str(exc):
            raise ValueError(f"sample_weight: {exc}") from None
        raise
    if not weight.any():  # scikit-learn < 1.9 lets it through
        raise ValueError("sample_weight is 0 on every row: there is nothing to fit.")
    return weight


def weights_in_use(train_weight, trusted):
    """The training and trusted sample weights as the net takes them: None
    where they are all equal (every loss the fit takes is a weighted mean over
    one set of rows, so a constant weight changes nothing), after checking
    that the trusted rows do not all weigh 0."""
    if trusted is not None and trusted[3] is not None:
        w_clean = trusted[3]
        if not w_clean.any():
            raise ValueError(
                "sample_weight is 0 on every trusted row: the trusted loss would be "
                "undefined. Give some trusted rows a positive weight."
            )
        if np.all(w_clean == w_clean[0]):
            trusted = (*trusted[:3], None)
    if train_weight is not None and np.all(train_weight == train_weight[0]):
        train_weight = None
    return train_weight, trusted


def vstack(X, X_clean):
    """``X`` with the rows of ``X_clean`` below (sparse CSR if either is)."""
    if sparse.issparse(X) or sparse.issparse(X_clean):
        return sparse.vstack([X, X_clean], format="csr", dtype=np.float32)
    return np.concatenate([X, X_clean])

"""The skorch net's own helpers: class weights for plain steps, label margins, row sampling."""

import numpy as np
import torch

from sk_l2rw._data import RowSampler
from sk_l2rw._net import label_margin, trusted_class_weight


def test_trusted_class_weight_brings_shares_to_the_trusted_set():
    # Training shares 3/4, 1/4; trusted shares 1/2, 1/2.
    weight = trusted_class_weight([0, 1], [0, 0, 0, 1], 2)
    np.testing.assert_allclose(weight, [0.5 / 0.75, 0.5 / 0.25])
    # A class absent from the training labels gets weight 0 (it has no rows).
    np.testing.assert_allclose(trusted_class_weight([0, 1, 2], [0, 0, 1], 3), [0.5, 1.0, 0.0])


def test_trusted_class_weight_is_none_when_the_trusted_set_lacks_a_class():
    assert trusted_class_weight([0, 0], [0, 1, 1], 2) is None


def test_label_margin_by_hand():
    logits = torch.log(torch.tensor([[0.7, 0.2, 0.1], [0.2, 0.5, 0.3], [0.25, 0.25, 0.5]]))
    y = torch.tensor([0, 0, 2])
    # p(label) minus the largest other probability.
    expected = torch.tensor([0.7 - 0.2, 0.2 - 0.5, 0.5 - 0.25])
    torch.testing.assert_close(label_margin(logits, y), expected)
    # Ties between the label and another class give 0: not kept by "> 0".
    tie = label_margin(torch.zeros(1, 2), torch.tensor([1]))
    torch.testing.assert_close(tie, torch.zeros(1))


def test_row_sampler_hands_out_each_epochs_permutation_in_order():
    sampler = RowSampler()
    sampler.n_rows = 7
    torch.manual_seed(0)
    order = list(iter(sampler))
    assert sorted(order) == list(range(7))
    np.testing.assert_array_equal(np.r_[sampler.take(3), sampler.take(4)], order)


def _fit(small, **params):
    from sk_l2rw import MetaReweightClassifier

    X, y, mask = small
    params = {"hidden_layer_sizes": (8,), "max_epochs": 6, "random_state": 0, **params}
    return MetaReweightClassifier(**params).fit(X, y, clean_mask=mask)


def test_a_silent_fit_formats_no_log_and_fits_as_a_printed_one(small, monkeypatch, capsys):
    from sk_l2rw._net import PhasePrintLog

    calls = []
    original = PhasePrintLog.table
    monkeypatch.setattr(
        PhasePrintLog, "table", lambda self, row: calls.append(1) or original(self, row)
    )
    silent = _fit(small)
    assert not calls and capsys.readouterr().out == ""
    printed = _fit(small, verbose=1)
    assert calls and "epoch" in capsys.readouterr().out
    np.testing.assert_array_equal(silent.example_weights_, printed.example_weights_)
    np.testing.assert_array_equal(silent.predict_proba(small[0]), printed.predict_proba(small[0]))
    assert silent.selection_["difference"] == printed.selection_["difference"]


def test_a_net_that_skips_the_clean_loss_record_trains_the_same(small):
    # The selection round's nets skip it; trusted minibatches (4 of 16 rows)
    # are drawn all the same, so every later step sees the same rows.
    from sk_l2rw._modules import MLP
    from sk_l2rw._net import MetaReweightNet

    X, y, mask = small
    X = X.astype(np.float32)
    nets = []
    for record in (True, False):
        torch.manual_seed(0)
        net = MetaReweightNet(
            MLP(4, 2, (8,)),
            max_epochs=4,
            warmup_epochs=2,
            batch_size=32,
            clean_batch_size=4,
            train_split=None,
            optimizer=torch.optim.Adam,
            verbose=0,
        )
        net.record_clean_loss = record
        net.set_trusted(X[mask], y[mask], rows=np.flatnonzero(mask))
        net.set_sample_weight(None)
        nets.append(net.fit(X, y))
    recorded, skipped = nets
    for a, b in zip(recorded.module_.parameters(), skipped.module_.parameters()):
        torch.testing.assert_close(a, b, rtol=0, atol=0)
    np.testing.assert_array_equal(recorded.weights(), skipped.weights())
    assert "clean_loss" in recorded.history[0] and "clean_loss" not in skipped.history[0]
    # Meta epochs record it from the meta step itself.
    assert "clean_loss" in skipped.history[-1]


def test_named_optimizers_update_as_torchs_per_tensor_loop(small):
    # optimizer="adam" takes torch's foreach implementation; the class as
    # given takes torch's CPU default, one tensor at a time: the same fit.
    named = _fit(small, optimizer="adam", fallback=None)
    as_class = _fit(small, optimizer=torch.optim.Adam, fallback=None)
    assert named.net_.optimizer_.defaults["foreach"] is True
    assert not as_class.net_.optimizer_.defaults["foreach"]
    for a, b in zip(named.net_.module_.parameters(), as_class.net_.module_.parameters()):
        torch.testing.assert_close(a, b, rtol=0, atol=0)


def test_rows_of_a_read_only_array_come_without_a_warning():
    # joblib hands workers large arrays as read-only memory maps (n_jobs).
    import warnings

    from sk_l2rw._data import rows_tensor

    X = np.arange(12, dtype=np.float32).reshape(6, 2)
    frozen = X.copy()
    frozen.flags.writeable = False
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for rows in (slice(1, 4), [5, 0, 2], np.array([3])):
            torch.testing.assert_close(rows_tensor(frozen, rows), rows_tensor(X, rows))

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

"""One training loop: every phase of a fit is a skorch epoch that callbacks,
``verbose`` and ``history_`` see."""

import re

import numpy as np
import pytest
import torch
from skorch.callbacks import Callback, EarlyStopping, LRScheduler, ProgressBar

from sk_l2rw import MetaReweightClassifier

# max_epochs=8, "auto": int(0.35 * 8) = 2 warm-up, int(0.5 * 8) = 4 refinement epochs.
# The fit's net without the selection round (tests/test_fallback.py has it);
# a fit that keeps the reweighted kind runs exactly these epochs.
PARAMS = dict(
    hidden_layer_sizes=(8,), max_epochs=8, batch_size=16, lr=0.01, random_state=0, fallback=None
)
PHASES = ["warmup"] * 2 + ["meta"] * 2 + ["refine"] * 4


@pytest.fixture(scope="module")
def data():
    rng = np.random.RandomState(0)
    X = rng.randn(120, 4)
    y = (X[:, 0] + X[:, 1] > 0).astype(int)
    y_noisy = np.where(rng.rand(len(y)) < 0.2, 1 - y, y)
    mask = np.zeros(len(y), bool)
    mask[rng.choice(len(y), 16, replace=False)] = True
    return X, np.where(mask, y, y_noisy), mask


class CountSteps(Callback):
    """Counts epochs, training batches and the optimizer's steps."""

    def initialize(self):
        self.epochs = self.batches = 0
        self.steps = [0]
        return self

    def on_train_begin(self, net, **kwargs):
        steps = self.steps
        net.optimizer_.register_step_post_hook(lambda *args: steps.__setitem__(0, steps[0] + 1))

    def on_epoch_end(self, net, **kwargs):
        self.epochs += 1

    def on_batch_end(self, net, training=False, **kwargs):
        self.batches += training


def test_callbacks_see_every_epoch_and_step_of_a_default_fit(data):
    X, y, mask = data
    clf = MetaReweightClassifier(**PARAMS, callbacks=[("count", CountSteps())])
    clf.fit(X, y, clean_mask=mask)
    count = dict(clf.net_.callbacks_)["count"]
    assert clf.history_[:, "phase"] == PHASES
    assert count.epochs == len(clf.history_) == clf.max_epochs
    batches = sum(len(epoch["batches"]) for epoch in clf.history_)
    assert count.batches == count.steps[0] == batches
    # 120 rows in batches of 16: 8 a warm-up or meta epoch; fewer in the refinement.
    kept = clf.history_[-1, "kept_rows"]
    assert kept < len(y)
    assert clf.history_[:, "train_batch_count"] == [8] * 4 + [-(-kept // 16)] * 4
    assert batches == 32 + 4 * -(-kept // 16)


def test_history_keys_by_phase(data):
    X, y, mask = data
    history = MetaReweightClassifier(**PARAMS).fit(X, y, clean_mask=mask).history_
    meta_only = {"mean_weight", "zero_weight_frac", "max_weight", "ess_frac"}
    for epoch in history:
        assert {"phase", "train_loss", "clean_loss", "dur"} <= set(epoch)
        assert (meta_only | {"all_zero_batches"} <= set(epoch)) == (epoch["phase"] == "meta")
        assert ("kept_rows" in epoch) == (epoch["phase"] == "refine")


def _table(out):
    """The header and rows of a verbose fit's table, split into fields."""
    lines = [re.sub(r"\x1b\[\d+m", "", line) for line in out.splitlines() if line.strip()]
    header = lines[0].split()
    assert set(lines[1]) <= {"-", " "}  # the rule under the header
    return header, [line.split() for line in lines[2:]]


def test_verbose_prints_one_header_and_every_field(data, capsys):
    X, y, mask = data
    MetaReweightClassifier(**PARAMS, verbose=1).fit(X, y, clean_mask=mask)
    header, rows = _table(capsys.readouterr().out)
    assert header[:3] == ["epoch", "phase", "all_zero_batches"] and header[-1] == "dur"
    assert {"clean_loss", "kept_rows", "train_loss", "ess_frac"} <= set(header)
    assert len(rows) == 8
    for number, row in enumerate(rows, start=1):
        assert len(row) == len(header), row
        fields = dict(zip(header, row))
        assert fields["epoch"] == str(number) and fields["phase"] == PHASES[number - 1]
        float(fields["train_loss"]), float(fields["clean_loss"])
        assert (fields["ess_frac"] == "-") == (fields["phase"] != "meta")
        assert (fields["kept_rows"] == "-") == (fields["phase"] != "refine")


def test_progress_bar_covers_every_phase(data, capsys):
    X, y, mask = data
    clf = MetaReweightClassifier(**PARAMS, callbacks=[ProgressBar()])
    clf.fit(X, y, clean_mask=mask)
    assert "print_log" in dict(clf.net_.callbacks_) and "ProgressBar" in dict(clf.net_.callbacks_)
    err = capsys.readouterr().err
    # tqdm draws a bar on stderr for each epoch, refinement epochs included
    # (sized, as batches_per_epoch="auto" does, by every training row).
    assert err.count("| 0/8 [") >= 8


def test_early_stopping_across_phases(data):
    X, y, mask = data
    # Every phase records train_loss and clean_loss (the trusted rows' loss):
    # the fit stops at the first epoch that does not improve on the best by
    # the threshold, whatever its phase.
    for monitor in ("train_loss", "clean_loss"):
        history = MetaReweightClassifier(**PARAMS).fit(X, y, clean_mask=mask).history_
        full = np.array(history[:, monitor])
        # The smallest relative threshold at which some epoch stalls, and that epoch.
        threshold = next(t for t in (0.05, 0.1, 0.2, 0.3) if any(np.diff(full) > -t * full[:-1]))
        stalls = [k for k in range(1, 8) if full[k] > min(full[:k]) * (1 - threshold)]
        stop = EarlyStopping(monitor=monitor, patience=1, threshold=threshold, load_best=False)
        clf = MetaReweightClassifier(**PARAMS, callbacks=[stop]).fit(X, y, clean_mask=mask)
        assert stalls and len(clf.history_) == stalls[0] + 1, (monitor, full)
        assert np.isfinite(clf.predict_proba(X)).all()
    # Patient enough: the whole fit runs, and it stops when the loss stalls.
    patient = EarlyStopping(monitor="train_loss", patience=100)
    clf = MetaReweightClassifier(**PARAMS, callbacks=[patient]).fit(X, y, clean_mask=mask)
    assert clf.history_[:, "phase"] == PHASES


def test_lr_scheduler_steps_through_every_phase(data):
    X, y, mask = data
    schedule = LRScheduler(policy="StepLR", step_size=1, gamma=0.5)
    clf = MetaReweightClassifier(**PARAMS, callbacks=[schedule]).fit(X, y, clean_mask=mask)
    # One halving per epoch, whatever its phase: the last epoch ran at lr / 2**7.
    assert clf.history_[:, "event_lr"] == [0.01 * 0.5**k for k in range(8)]
    assert clf.net_.optimizer_.param_groups[0]["lr"] == pytest.approx(0.01 * 0.5**8)


def test_refinement_train_loss_is_over_the_kept_rows(data):
    X, y, mask = data
    clf = MetaReweightClassifier(**PARAMS).fit(X, y, clean_mask=mask)
    net = clf.net_
    keep = net.refine_rows()
    logits = net.module_(torch.as_tensor(X[keep], dtype=torch.float32))
    loss = torch.nn.functional.cross_entropy(logits, torch.as_tensor(y[keep])).item()
    # The last epoch's mean loss over its batches is near the final model's on those rows.
    assert abs(clf.history_[-1, "train_loss"] - loss) < 0.1

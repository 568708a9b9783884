"""MetaReweightRegressor: target scaling, losses, phases, per-row scores, errors."""

import pickle
import warnings

import numpy as np
import pytest
import torch
from sklearn.exceptions import NotFittedError
from sklearn.metrics import roc_auc_score
from skorch.callbacks import Callback

from sk_l2rw import DivergedError, MetaReweightRegressor, MetaReweightRegressorNet
from sk_l2rw._net import trusted_keep
from sk_l2rw.datasets import make_corrupted_targets

FAST = dict(hidden_layer_sizes=(16,), max_epochs=6, batch_size=32, lr=0.01, random_state=0)


@pytest.fixture(scope="module")
def data():
    rng = np.random.RandomState(0)
    X = rng.uniform(-2, 2, (300, 3))
    y = np.sin(X[:, 0]) + X[:, 1] ** 2 / 2 + 0.1 * rng.randn(300)
    y_bad, corrupted = make_corrupted_targets(y, corruption_rate=0.3, random_state=0)
    trusted = np.zeros(len(y), bool)
    trusted[rng.choice(np.flatnonzero(~corrupted), 20, replace=False)] = True
    return X, y, y_bad, corrupted, trusted


def test_fit_predict_and_attributes(data):
    X, y, y_bad, corrupted, trusted = data
    reg = MetaReweightRegressor(**FAST).fit(X, y_bad, clean_mask=trusted)
    assert reg.predict(X).shape == (len(X),) and reg.n_outputs_ == 1
    # warmup_epochs="auto" is no warm-up for the regressor: meta epochs, then refinement.
    assert reg.history_[:, "phase"] == ["meta"] * 3 + ["refine"] * 3
    assert reg.example_weights_.shape == reg.target_quality_.shape == (len(X),)
    assert np.all(reg.target_quality_ <= 0)
    # The scale is the trusted rows', not the corrupted targets'.
    np.testing.assert_allclose(reg.target_mean_, [y[trusted].mean()])
    np.testing.assert_allclose(reg.target_scale_, [y[trusted].std()])
    assert isinstance(reg.net_, MetaReweightRegressorNet)


def test_auto_warmup_is_none_for_the_regressor_and_an_int_keeps_its_meaning(data):
    # Chosen on the regression benchmark (benchmarks/results/variants-regression/
    # warmup.md): 17 plain epochs fit a shifted subgroup (diabetes, 40 %: 82.2
    # against 68.5 without them).
    X, _, y_bad, _, trusted = data
    assert MetaReweightRegressor()._budget(300, warm=False) == (50, 0, 25)
    assert MetaReweightRegressor(max_epochs="auto")._budget(133, warm=False) == (500, 0, 250)
    assert MetaReweightRegressor(warmup_epochs=17)._budget(300, warm=False) == (50, 17, 25)
    reg = MetaReweightRegressor(**{**FAST, "warmup_epochs": 2}).fit(X, y_bad, clean_mask=trusted)
    assert reg.history_[:, "phase"] == ["warmup"] * 2 + ["meta"] + ["refine"] * 3
    # partial_fit is one meta epoch, as for the classifier.
    assert reg.partial_fit(X, y_bad).history_[-1, "phase"] == "meta"


def test_predictions_in_the_units_of_y(data):
    # Scaled by the trusted rows, the network sees the same targets whatever
    # their units: the predictions move with the units, exactly.
    X, _, y_bad, _, trusted = data
    a = MetaReweightRegressor(**FAST).fit(X, y_bad, clean_mask=trusted)
    b = MetaReweightRegressor(**FAST).fit(X, 1000 * y_bad - 7, clean_mask=trusted)
    np.testing.assert_allclose(b.predict(X), 1000 * a.predict(X) - 7, rtol=1e-5, atol=1e-3)
    np.testing.assert_array_equal(a.example_weights_, b.example_weights_)


def test_target_quality_ranks_corrupted_rows_and_refinement_drops_them(data):
    X, y, y_bad, corrupted, trusted = data
    reg = MetaReweightRegressor(**{**FAST, "max_epochs": 20}).fit(X, y_bad, clean_mask=trusted)
    rows = ~trusted
    assert roc_auc_score(~corrupted[rows], reg.target_quality_[rows]) > 0.95
    kept = reg.net_.refine_rows()
    keep = np.zeros(len(y), bool)
    keep[kept] = True
    r = -reg.target_quality_
    np.testing.assert_array_equal(keep, trusted_keep(r, r[trusted]) | trusted)
    assert keep[trusted].all()
    np.testing.assert_array_equal(keep, r <= 1.5 * np.quantile(r[trusted], 0.95))
    assert corrupted[keep].mean() < 0.1 < corrupted[~keep].mean()
    assert reg.history_[-1, "kept_rows"] == keep.sum()


def test_beats_plain_training_on_outliers(data):
    X, y, y_bad, _, trusted = data
    rng = np.random.RandomState(1)
    X_te = rng.uniform(-2, 2, (500, 3))
    y_te = np.sin(X_te[:, 0]) + X_te[:, 1] ** 2 / 2
    params = {**FAST, "max_epochs": 40}
    meta = MetaReweightRegressor(**params).fit(X, y_bad, clean_mask=trusted)
    # The same estimator trained plainly: every epoch a warm-up epoch but one.
    plain = MetaReweightRegressor(**params, warmup_epochs=39, refine_epochs=0)
    plain.fit(X, y_bad, clean_mask=trusted)
    rmse = [np.sqrt(np.mean((m.predict(X_te) - y_te) ** 2)) for m in (meta, plain)]
    assert rmse[0] < 0.75 * rmse[1], rmse


def test_multi_output_and_clean_val(data):
    X, y, y_bad, _, trusted = data
    Y = np.c_[y_bad, -3 * y_bad + 1]
    reg = MetaReweightRegressor(**FAST).fit(
        X[~trusted], Y[~trusted], clean_val=(X[trusted], np.c_[y, -3 * y + 1][trusted])
    )
    assert reg.predict(X).shape == (len(X), 2) and reg.n_outputs_ == 2
    assert reg.example_weights_.shape == (int((~trusted).sum()),)
    with pytest.raises(ValueError, match=r"clean_val\[1\] \(y_clean\) must have one target row"):
        reg.fit(X, Y, clean_val=(X[trusted], y[trusted]))


@pytest.mark.parametrize("loss", ["squared_error", "absolute_error"])
def test_losses(data, loss):
    X, _, y_bad, _, trusted = data
    reg = MetaReweightRegressor(**FAST, loss=loss).fit(X, y_bad, clean_mask=trusted)
    assert np.isfinite(reg.predict(X)).all()


def test_callable_loss_equals_the_named_one(data):
    X, _, y_bad, _, trusted = data
    named = MetaReweightRegressor(**FAST).fit(X, y_bad, clean_mask=trusted)  # "huber"

    def huber(out, y):
        return torch.nn.functional.huber_loss(out, y, reduction="none").mean(dim=1)

    custom = MetaReweightRegressor(**FAST, loss=huber).fit(X, y_bad, clean_mask=trusted)
    np.testing.assert_allclose(custom.predict(X), named.predict(X), rtol=1e-6)


def test_no_trusted_set_warns_and_samples(data):
    X, _, y_bad, _, _ = data
    with pytest.warns(UserWarning, match="a random sample of 20 training rows"):
        reg = MetaReweightRegressor(**FAST).fit(X, y_bad)
    assert len(reg.net_.trusted_y_) == 20


@pytest.mark.parametrize(
    "y_change, fit_kw, match",
    [
        (lambda y: np.r_[np.nan, y[1:]], {}, "Input y contains NaN"),
        (lambda y: np.full_like(y, 3.0), {}, "y is constant"),
        (lambda y: y[:, None].repeat(2, 1)[:, :, None], {}, "Found array with dim 3"),
        (lambda y: y, {"clean_mask": np.arange(300) == 0}, "at least 2 rows"),
    ],
)
def test_bad_targets(data, y_change, fit_kw, match):
    X, _, y_bad, _, trusted = data
    kw = fit_kw or {"clean_mask": trusted}
    with pytest.raises(ValueError, match=match):
        MetaReweightRegressor(**FAST).fit(X, y_change(y_bad), **kw)


def test_bad_trusted_targets(data):
    X, _, y_bad, _, trusted = data
    reg = MetaReweightRegressor(**FAST)
    X_c = X[trusted]
    with pytest.raises(ValueError, match=r"Input clean_val\[1\] \(y_clean\) contains infinity"):
        reg.fit(X, y_bad, clean_val=(X_c, np.r_[np.inf, np.ones(len(X_c) - 1)]))
    with pytest.raises(ValueError, match="The trusted targets are constant"):
        reg.fit(X, y_bad, clean_val=(X_c, np.ones(len(X_c))))
    with pytest.raises(ValueError, match="needs at least 2 samples; got n_samples = 1"):
        reg.fit(X[:1], y_bad[:1])
    with pytest.raises(ValueError, match="'loss' parameter"):
        MetaReweightRegressor(loss="hinge").fit(X, y_bad, clean_mask=trusted)


def test_divergence_raises_and_unfits(data):
    X, _, y_bad, _, trusted = data
    reg = MetaReweightRegressor(**{**FAST, "lr": 1e10}, optimizer="sgd")
    with pytest.raises(DivergedError, match="smaller lr"):
        reg.fit(X, 1e6 * y_bad, clean_mask=trusted)
    with pytest.raises(NotFittedError):
        reg.predict(X)
    assert not hasattr(reg, "target_quality_")


def test_partial_fit_warm_start_and_pickle_keep_the_scale(data):
    X, _, y_bad, _, trusted = data
    reg = MetaReweightRegressor(**FAST).partial_fit(X, y_bad, clean_mask=trusted)
    scale = reg.target_scale_.copy()
    reg.partial_fit(X, 10 * y_bad)  # other targets: the scale stays the first call's
    np.testing.assert_array_equal(reg.target_scale_, scale)
    assert reg.history_[:, "phase"] == ["meta", "meta"]
    reg.set_params(warm_start=True).fit(X, y_bad, clean_mask=trusted)
    np.testing.assert_array_equal(reg.target_scale_, scale)
    assert len(reg.history_) == 2 + FAST["max_epochs"]
    loaded = pickle.loads(pickle.dumps(reg))
    np.testing.assert_array_equal(loaded.predict(X), reg.predict(X))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loaded.partial_fit(X, y_bad)
    with pytest.raises(ValueError, match="y has 2 outputs; the fitted estimator has 1"):
        loaded.partial_fit(X, np.c_[y_bad, y_bad])


def test_module_callable_gets_n_outputs(data):
    X, _, y_bad, _, trusted = data

    def module(n_features, n_outputs):
        return torch.nn.Sequential(
            torch.nn.Linear(n_features, 8), torch.nn.Tanh(), torch.nn.Linear(8, n_outputs)
        )

    reg = MetaReweightRegressor(**FAST, module=module).fit(
        X, np.c_[y_bad, y_bad], clean_mask=trusted
    )
    assert reg.predict(X).shape == (len(X), 2)
    with pytest.raises(ValueError, match=r"outputs of shape \(n_rows, 1\)"):
        MetaReweightRegressor(**FAST, module=torch.nn.Linear(3, 2)).fit(
            X, y_bad, clean_mask=trusted
        )


class _TrustedResiduals(Callback):
    """The trusted rows' mean absolute residual at the end of each meta epoch."""

    def initialize(self):
        self.residuals = []
        return self

    def on_epoch_end(self, net, **kwargs):
        if net.history[-1, "phase"] == "meta":
            out = net.eval_output(net.trusted_X_)
            self.residuals.append((out - net.trusted_y_).abs().mean(dim=1).numpy())


def test_refinement_without_trusted_training_rows_uses_their_residuals_over_the_meta_epochs(data):
    X, y, y_bad, corrupted, trusted = data
    spy = _TrustedResiduals()
    reg = MetaReweightRegressor(**{**FAST, "max_epochs": 20}, train_on_clean=False)
    reg.set_params(callbacks=[("spy", spy)]).fit(X, y_bad, clean_mask=trusted)
    assert np.isnan(reg.target_quality_[trusted]).all()
    # The bar is the trusted rows' residual averaged over the meta epochs the
    # training rows' record spans, each taken at an epoch's end: with no
    # warm-up the first epochs' residuals are a random start's on both sides.
    # (The final model's residuals, the bar before, kept 0.56 of the correct
    # rows here.)
    spy = dict(reg.net_.callbacks_)["spy"]  # the net's copy of the callback
    assert len(spy.residuals) == 10
    bar = np.mean(spy.residuals, axis=0)
    r = -reg.net_.records()
    np.testing.assert_allclose(-reg.net_.trusted_record_sums_ / 10, bar, rtol=1e-5)
    np.testing.assert_array_equal(reg.net_.refine_rows(), np.flatnonzero(trusted_keep(r, bar)))
    kept = np.zeros(len(y), bool)
    kept[np.flatnonzero(~trusted)[reg.net_.refine_rows()]] = True
    # Still a cut: most corrupted rows are out, most correct ones in.
    assert corrupted[kept].mean() < 0.1 and kept[~corrupted & ~trusted].mean() > 0.8

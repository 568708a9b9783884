"""Quality benchmark for regression: does MetaReweightRegressor beat what a user would do?

The regression rows of the quality benchmark (../shared/BENCHMARKS.md), in a
script of their own: the classification script's tables and summary are
assembled byte for byte from its saved results, and regression has other
methods and another metric. For every scenario and seed, every network
method uses the same MLP, Adam, learning rate, batch size and epochs (the
regressor's defaults):

- ``plain``: skorch ``NeuralNetRegressor`` on all training rows (corrupted
  targets, trusted rows with their true targets), targets standardised by the
  training targets' mean and standard deviation, as a user would;
- ``plain-huber``: the same with a Huber loss (kink at one standard deviation);
- ``plain+FT``: ``plain``, then fine-tuned on the trusted rows for
  ``max_epochs`` passes;
- ``trusted-only``: the same net on the trusted rows only, for as many steps
  as ``plain`` takes;
- ``HuberRegressor`` and ``RANSACRegressor``: scikit-learn's robust linear
  models with their defaults, on all training rows;
- ``oracle``: ``plain`` on the true targets (upper bound);
- ``l2rw``: ``MetaReweightRegressor`` with its defaults, the trusted rows
  passed by ``clean_mask`` (its default loss is ``"huber"``); ``l2rw-squared``:
  with ``loss="squared_error"``;
  ``l2rw-exact``: ``warmup_epochs=0, refine_epochs=0``, the paper's step alone.

Scenarios: ``load_diabetes`` (442 rows) and ``make_friedman1`` (2,000 rows,
noise 1), 20 % and 40 % of the training targets corrupted by
``sk_l2rw.datasets.make_corrupted_targets`` as gross outliers (``outlier``)
or a shifted subgroup (``shift``, a region of the feature space); 20 trusted
rows drawn at random from the training rows, with their true targets.
Held out (``heldout-*``, added after the regressor's defaults were chosen on
the others): ``make_friedman2`` with a 30 % shifted subgroup and
``make_friedman3`` with 30 % outliers.
Metric: RMSE on the clean test targets (lower is better); per-row scores:
AUROC of ``target_quality_`` and ``example_weights_`` separating correct from
corrupted rows among the untrusted training rows.

Usage::

    python benchmarks/quality_regression.py                 # everything, 5 seeds
    python benchmarks/quality_regression.py --scenarios friedman-outlier-20 --seeds 2
    python benchmarks/quality_regression.py --assemble-only

Results go to ``benchmarks/results/regression/<scenario>.json``; the table
(``docs/benchmarks/quality_regression.md``) is assembled from every JSON there.
"""

import argparse
import json
import time
import warnings
from pathlib import Path

import numpy as np
import torch
from sklearn.datasets import load_diabetes, make_friedman1, make_friedman2, make_friedman3
from sklearn.linear_model import HuberRegressor, RANSACRegressor
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler
from skorch import NeuralNetRegressor

from sk_l2rw import MLP, MetaReweightRegressor
from sk_l2rw.datasets import make_corrupted_targets

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results" / "regression"
TABLE = ROOT / "docs" / "benchmarks" / "quality_regression.md"
METHODS = (
    "plain",
    "plain-huber",
    "plain+FT",
    "trusted-only",
    "HuberRegressor",
    "RANSACRegressor",
    "oracle",
    "l2rw",
    "l2rw-squared",
    "l2rw-exact",
)
NOT_BASELINES = ("oracle", "l2rw", "l2rw-squared", "l2rw-exact")
SCORES = ("l2rw.target_quality_", "l2rw.example_weights_")
N_TRUSTED = 20
DEFAULTS = MetaReweightRegressor()


def scenarios():
    """Name -> spec of every scenario."""
    out = {
        f"{data}-{kind}-{round(rate * 100)}": dict(data=data, kind=kind, rate=rate)
        for data in ("diabetes", "friedman")
        for kind in ("outlier", "shift")
        for rate in (0.2, 0.4)
    }
    # Held out: added after the regressor's defaults were chosen on the above.
    out["heldout-friedman2-shift-30"] = dict(data="friedman2", kind="shift", rate=0.3)
    out["heldout-friedman3-outlier-30"] = dict(data="friedman3", kind="outlier", rate=0.3)
    return out


def scenario_data(spec, seed):
    """``X_tr, y_tr, y_fit, trusted, corrupted, X_te, y_te`` of one seed."""
    if spec["data"] == "diabetes":
        X, y = load_diabetes(return_X_y=True)
    elif spec["data"] == "friedman2":
        X, y = make_friedman2(n_samples=2000, noise=20.0, random_state=seed)
    elif spec["data"] == "friedman3":
        X, y = make_friedman3(n_samples=2000, noise=0.05, random_state=seed)
    else:
        X, y = make_friedman1(n_samples=2000, noise=1.0, random_state=seed)
    X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=0.25, random_state=seed)
    scaler = StandardScaler().fit(X_tr)
    X_tr, X_te = scaler.transform(X_tr), scaler.transform(X_te)
    y_bad, corrupted = make_corrupted_targets(
        y_tr,
        corruption_rate=spec["rate"],
        kind=spec["kind"],
        X=X_tr if spec["kind"] == "shift" else None,
        random_state=seed,
    )
    rng = np.random.RandomState(seed)
    trusted = np.zeros(len(y_tr), bool)
    trusted[rng.choice(len(y_tr), N_TRUSTED, replace=False)] = True
    y_fit = np.where(trusted, y_tr, y_bad)
    return X_tr, y_tr, y_fit, trusted, corrupted & ~trusted, X_te, y_te


# -- methods ------------------------------------------------------------------


def _net(n_features, seed, criterion=torch.nn.MSELoss, epochs=None):
    torch.manual_seed(seed)
    return NeuralNetRegressor(
        MLP(n_features, 1, DEFAULTS.hidden_layer_sizes),
        criterion=criterion,
        optimizer=torch.optim.Adam,
        lr=DEFAULTS.lr,
        max_epochs=DEFAULTS.max_epochs if epochs is None else epochs,
        batch_size=DEFAULTS.batch_size,
        train_split=None,
        iterator_train__shuffle=True,
        verbose=0,
    )


class _Standardised:
    """A net trained on ``(y - mean) / std`` of its training targets."""

    def __init__(self, net, y):
        self.net, self.mean, self.std = net, y.mean(), y.std()

    def fit(self, X, y, **kw):
        self.net.partial_fit(X.astype(np.float32), self._scale(y), **kw)
        return self

    def _scale(self, y):
        return ((y - self.mean) / self.std).astype(np.float32)[:, None]

    def predict(self, X):
        return self.net.predict(X.astype(np.float32))[:, 0] * self.std + self.mean


def _plain(X, y, seed, criterion=torch.nn.MSELoss):
    return _Standardised(_net(X.shape[1], seed, criterion).initialize(), y).fit(X, y)


def rmse(pred, y):
    """Root mean squared error of ``pred`` against the (clean) targets ``y``."""
    return float(np.sqrt(np.mean((pred - y) ** 2)))


def run_seed(spec, seed):
    X_tr, y_tr, y_fit, trusted, corrupted, X_te, y_te = scenario_data(spec, seed)
    res = {"rmse": {}, "time": {}, "auroc": {}}
    n_steps = -(-len(y_fit) // DEFAULTS.batch_size) * DEFAULTS.max_epochs

    def plain_ft():
        model = _plain(X_tr, y_fit, seed)
        model.net.set_params(max_epochs=DEFAULTS.max_epochs)
        return model.fit(X_tr[trusted], y_fit[trusted])

    def trusted_only():
        net = _net(X_tr.shape[1], seed, epochs=max(DEFAULTS.max_epochs, n_steps)).initialize()
        return _Standardised(net, y_fit[trusted]).fit(X_tr[trusted], y_fit[trusted])

    def l2rw(**params):
        model = MetaReweightRegressor(random_state=seed, **params)
        return model.fit(X_tr, y_fit, clean_mask=trusted)

    fits = {
        "plain": lambda: _plain(X_tr, y_fit, seed),
        "plain-huber": lambda: _plain(X_tr, y_fit, seed, torch.nn.HuberLoss),
        "plain+FT": plain_ft,
        "trusted-only": trusted_only,
        "HuberRegressor": lambda: HuberRegressor(max_iter=1000).fit(X_tr, y_fit),
        "RANSACRegressor": lambda: RANSACRegressor(random_state=seed).fit(X_tr, y_fit),
        "oracle": lambda: _plain(X_tr, y_tr, seed),
        "l2rw": l2rw,
        "l2rw-squared": lambda: l2rw(loss="squared_error"),
        "l2rw-exact": lambda: l2rw(warmup_epochs=0, refine_epochs=0),
    }
    for name, fit in fits.items():
        start = time.perf_counter()
        model = fit()
        res["time"][name] = time.perf_counter() - start
        res["rmse"][name] = rmse(model.predict(X_te), y_te)
        if name == "l2rw":
            rows = ~trusted
            for attr in ("target_quality_", "example_weights_"):
                score = getattr(model, attr)[rows]
                res["auroc"][f"l2rw.{attr}"] = float(roc_auc_score(~corrupted[rows], score))
    return res


# -- tables -------------------------------------------------------------------


def _mean_std(runs, key, method):
    values = [r[key][method] for r in runs]
    return float(np.mean(values)), float(np.std(values))


def best_baseline(runs):
    """(name, mean RMSE) of the best non-oracle baseline."""
    means = {m: _mean_std(runs, "rmse", m)[0] for m in METHODS if m not in NOT_BASELINES}
    name = min(means, key=means.get)
    return name, means[name]


def assemble(command):
    """The Markdown page from every saved scenario."""
    lines = [
        "# Quality: regression with corrupted targets",
        "",
        "Regenerated with:",
        "",
        "```",
        command,
        "```",
        "",
        "RMSE on clean test targets, mean ± std over seeds (lower is better); the protocol is",
        "the docstring of `benchmarks/quality_regression.py`. Every network method uses the",
        f"regressor's defaults: MLP {DEFAULTS.hidden_layer_sizes}, Adam, lr {DEFAULTS.lr}, "
        f"batch {DEFAULTS.batch_size}, {DEFAULTS.max_epochs} epochs;",
        f"{N_TRUSTED} trusted rows. **Bold**: the lowest non-oracle RMSE.",
        "",
        "| scenario | seeds | " + " | ".join(METHODS) + " | l2rw − best baseline |",
        "|---" * (len(METHODS) + 3) + "|",
    ]
    auroc_lines = [
        "",
        "## Finding the corrupted rows",
        "",
        "AUROC of each per-row score separating correct from corrupted training rows (1 is",
        "perfect, 0.5 is chance).",
        "",
        "| scenario | " + " | ".join(f"`{s}`" for s in SCORES) + " |",
        "|---" * (len(SCORES) + 1) + "|",
    ]
    wins, total = {False: 0, True: 0}, {False: 0, True: 0}
    for path in sorted(
        RESULTS.glob("*.json"), key=lambda p: (p.stem.startswith("heldout"), p.stem)
    ):
        result = json.loads(path.read_text())
        runs = result["runs"]
        means = {m: _mean_std(runs, "rmse", m) for m in METHODS}
        lowest = min(v[0] for m, v in means.items() if m != "oracle")
        cells = [
            (f"**{mu:.3f}**" if mu == lowest and m != "oracle" else f"{mu:.3f}") + f" ± {sd:.3f}"
            for m, (mu, sd) in means.items()
        ]
        name, best = best_baseline(runs)
        margin = means["l2rw"][0] - best
        held_out = result["scenario"].startswith("heldout")
        wins[held_out] += margin <= 0
        total[held_out] += 1
        lines.append(
            f"| {result['scenario']} | {len(runs)} | "
            + " | ".join(cells)
            + f" | {margin:+.3f} ({name}) |"
        )
        aurocs = [f"{np.mean([r['auroc'][s] for r in runs]):.3f}" for s in SCORES]
        auroc_lines.append(f"| {result['scenario']} | " + " | ".join(aurocs) + " |")
    lines += [
        "",
        "`l2rw` (the defaults) has a lower mean RMSE than every non-oracle baseline in "
        f"{wins[False]} of {total[False]} development scenarios and {wins[True]} of "
        f"{total[True]} held-out ones (`heldout-*`: added after the defaults were chosen on",
        "the others, and not used to choose them).",
    ]
    return "\n".join(lines + auroc_lines) + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scenarios", help="comma-separated names (default: all)")
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--assemble-only", action="store_true")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    warnings.filterwarnings("ignore", category=UserWarning)
    specs = scenarios()
    names = args.scenarios.split(",") if args.scenarios else list(specs)
    unknown = sorted(set(names) - set(specs))
    if unknown:
        parser.error(f"unknown scenarios {unknown}; choose from {list(specs)}")
    RESULTS.mkdir(parents=True, exist_ok=True)
    for name in [] if args.assemble_only else names:
        runs = []
        for seed in range(args.seeds):
            runs.append(run_seed(specs[name], seed))
            rmse = " ".join(f"{m}={v:.3f}" for m, v in runs[-1]["rmse"].items())
            print(f"{name} seed {seed}: {rmse}", flush=True)
        out = {"scenario": name, "spec": specs[name], "seeds": args.seeds, "runs": runs}
        (RESULTS / f"{name}.json").write_text(json.dumps(out, indent=1))
    TABLE.write_text(assemble("python benchmarks/quality_regression.py"))
    print(TABLE.read_text())


if __name__ == "__main__":
    main()

"""Quality benchmark for regression: does MetaReweightRegressor beat what a user would do?

The regression rows of the quality benchmark (../shared/BENCHMARKS.md), in a
script of their own: the classification script's tables and summary are
assembled byte for byte from its saved results, and regression has other
methods and another metric. For every scenario and seed, every network
method uses the same MLP (2 hidden layers of 100), Adam, learning rate, batch
size and budget rule (issue 18: enough epochs for 1,000 optimizer steps on the
rows a fit trains on, 50 to 500, as ``max_epochs="auto"``):

- ``plain``: skorch ``NeuralNetRegressor`` on all training rows (corrupted
  targets, trusted rows with their true targets), targets standardised by the
  training targets' mean and standard deviation, as a user would;
- ``plain-huber``: the same with a Huber loss (kink at one standard deviation);
- ``plain-es`` / ``plain-huber-es``: the same, early-stopped as a careful
  user would (skorch ``EarlyStopping``: 10 % of the training rows held out,
  their loss on the given targets monitored, patience 10 epochs, the best
  epoch's parameters kept), within the same budget;
- ``plain+FT``: ``plain``, then fine-tuned on the trusted rows for as many
  passes as ``plain`` took epochs;
- ``trusted-only``: the same net on the trusted rows only, for as many steps
  as ``plain`` takes;
- ``HuberRegressor`` and ``RANSACRegressor``: scikit-learn's robust linear
  models with their defaults, on all training rows;
- ``oracle``: ``plain`` on the true targets (upper bound);
- ``l2rw``: ``MetaReweightRegressor`` with its defaults, the trusted rows
  passed by ``clean_mask`` (its default loss is ``"huber"``); ``l2rw-squared``:
  with ``loss="squared_error"``;
  ``l2rw-exact``: ``warmup_epochs=0, refine_epochs=0``, the paper's step alone;
- candidate defaults, not baselines: ``l2rw-warmup_epochs=17`` (17 plain
  warm-up epochs, the classifier's and the regressor's default until its
  ``"auto"`` warm-up became 0), ``l2rw-fallback=plain`` (the selection
  round between the reweighted fit and a plain Huber net),
  ``l2rw-max_epochs=auto`` (the "auto" budget of the baselines and the
  classifier instead of the regressor's 50 epochs),
  ``l2rw-before-issue-18`` (one hidden layer of 100, 50 epochs and 17
  warm-up epochs, the defaults before issue 18).

Scenarios: ``load_diabetes`` (442 rows) and ``make_friedman1`` (2,000 rows,
noise 1), 20 % and 40 % of the training targets corrupted by
``sk_l2rw.datasets.make_corrupted_targets`` as gross outliers (``outlier``)
or a shifted subgroup (``shift``, a region of the feature space); 20 trusted
rows drawn at random from the training rows, with their true targets.
Held out (``heldout-*``, added after the regressor's defaults were chosen on
the others): ``make_friedman2`` with a 30 % shifted subgroup and
``make_friedman3`` with 30 % outliers. Held out of the warm-up choice made
after issue 18 (``heldout2-*``, added before any result of it): real tables
with categorical columns (one-hot), read from the CSVs that plotnine and
palmerpenguins bundle -- the log10 price of 3,000 diamonds drawn per seed
with 30 % outliers or a 30 % shifted subgroup, and the body mass of the 333
complete penguins with a 20 % shifted subgroup. Held out likewise
(``heldout3-*``, added after the warm-up choice, before any result on them): the
log10 median house price of 3,000 Texas city-months with 20 % outliers or a
30 % shifted subgroup, and the highway mileage of 234 cars with 30 %
outliers.
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
import sys
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
from skorch.callbacks import EarlyStopping
from skorch.dataset import ValidSplit

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _scenarios import _bundled_frame  # noqa: E402
from quality import paired_stats  # noqa: E402

from sk_l2rw import MLP, MetaReweightRegressor  # noqa: E402
from sk_l2rw._base import auto_epochs  # noqa: E402
from sk_l2rw.datasets import make_corrupted_targets  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results" / "regression"
TABLE = ROOT / "docs" / "benchmarks" / "quality_regression.md"
# The candidate defaults, judged beside ``l2rw`` by the same rule (not baselines).
CANDIDATES = (
    "l2rw-warmup_epochs=17",
    "l2rw-fallback=plain",
    "l2rw-max_epochs=auto",
    "l2rw-before-issue-18",
)
L2RW_METHODS = ("l2rw", "l2rw-squared", "l2rw-exact", *CANDIDATES)
METHODS = (
    "plain",
    "plain-huber",
    "plain-es",
    "plain-huber-es",
    "plain+FT",
    "trusted-only",
    "HuberRegressor",
    "RANSACRegressor",
    "oracle",
    *L2RW_METHODS,
)
NOT_BASELINES = ("oracle", *L2RW_METHODS)
SCORES = ("l2rw.target_quality_", "l2rw.example_weights_")
N_TRUSTED = 20
DEFAULTS = MetaReweightRegressor()
# The protocol of the saved results (issue 18: every network 2 x 100 with the
# "auto" budget rule); results without it are older.
PROTOCOL = "issue-18"
HIDDEN = (100, 100)


# The scenarios' groups, as the page reports them apart.
GROUPS = {
    "dev": "development scenarios",
    "heldout": "held out (`heldout-*`: added after the earlier defaults were chosen)",
    "heldout2": "held out of the warm-up choice (`heldout2-*`: added before any result of it)",
    "heldout3": "held out (`heldout3-*`: added after the warm-up choice, before results on it)",
}


def group_of(scenario):
    """The group of a scenario's name: its ``"heldout*-"`` prefix, or ``"dev"``."""
    return next((g for g in GROUPS if scenario.startswith(g + "-")), "dev")


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
    # Held out of the warm-up choice after issue 18 (added before any result
    # of it): real tables with categorical columns, bundled in packages.
    out["heldout2-diamonds-outlier-30"] = dict(data="diamonds", kind="outlier", rate=0.3)
    out["heldout2-diamonds-shift-30"] = dict(data="diamonds", kind="shift", rate=0.3)
    out["heldout2-penguins-shift-20"] = dict(data="penguins", kind="shift", rate=0.2)
    # Held out: added after the warm-up choice, before any result on them
    # (and before the record-rule candidates, which were not adopted).
    out["heldout3-txhousing-outlier-20"] = dict(data="txhousing", kind="outlier", rate=0.2)
    out["heldout3-txhousing-shift-30"] = dict(data="txhousing", kind="shift", rate=0.3)
    out["heldout3-mpg-outlier-30"] = dict(data="mpg", kind="outlier", rate=0.3)
    return out


# The real tables of the held-out scenarios (:func:`_bundled`).
BUNDLED = ("diamonds", "penguins", "txhousing", "mpg")


def _bundled(name, seed):
    """``X, y`` of a real table, categorical columns one-hot: diamonds (a
    3,000-row random subset per seed; the target log10 of the price),
    penguins (the 333 complete rows; the target the body mass in kg),
    txhousing (Texas housing sales by city and month: a 3,000-row subset of
    the complete rows per seed; the target log10 of the median price, from
    the city, year, month, sales, listings and inventory) or mpg (234 cars;
    the target the highway miles per gallon, without the city figure)."""
    import pandas as pd

    df = _bundled_frame(name)
    if name == "diamonds":
        df = df.sample(n=3000, random_state=seed)
        y = np.log10(df.pop("price").to_numpy(dtype=float))
        categorical = ["cut", "color", "clarity"]
    elif name == "txhousing":
        df = df.drop(columns=["volume", "date"]).dropna().sample(n=3000, random_state=seed)
        y = np.log10(df.pop("median").to_numpy(dtype=float))
        categorical = ["city"]
    elif name == "mpg":
        df = df.drop(columns=["model", "cty"])
        y = df.pop("hwy").to_numpy(dtype=float)
        categorical = ["manufacturer", "trans", "drv", "fl", "class"]
    else:  # penguins
        df = df.dropna()
        y = df.pop("body_mass_g").to_numpy(dtype=float) / 1000
        categorical = ["species", "island", "sex"]
    X = pd.get_dummies(df, columns=categorical, dtype=float).to_numpy(dtype=float)
    return X, y


def scenario_data(spec, seed):
    """``X_tr, y_tr, y_fit, trusted, corrupted, X_te, y_te`` of one seed."""
    if spec["data"] == "diabetes":
        X, y = load_diabetes(return_X_y=True)
    elif spec["data"] in BUNDLED:
        X, y = _bundled(spec["data"], seed)
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


def _epochs(n_rows):
    """The protocol's budget for ``n_rows`` training rows (``max_epochs="auto"``)."""
    return auto_epochs(n_rows, DEFAULTS.batch_size)


def _net(n_features, seed, epochs, criterion=torch.nn.MSELoss, early_stopping=False):
    torch.manual_seed(seed)
    if early_stopping:
        stop = dict(
            train_split=ValidSplit(0.1, random_state=seed),
            callbacks=[EarlyStopping(patience=10, load_best=True)],
        )
    else:
        stop = dict(train_split=None)
    return NeuralNetRegressor(
        MLP(n_features, 1, HIDDEN),
        criterion=criterion,
        optimizer=torch.optim.Adam,
        lr=DEFAULTS.lr,
        max_epochs=epochs,
        batch_size=DEFAULTS.batch_size,
        iterator_train__shuffle=True,
        **stop,
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


def _plain(X, y, seed, criterion=torch.nn.MSELoss, early_stopping=False):
    net = _net(X.shape[1], seed, _epochs(len(y)), criterion, early_stopping).initialize()
    return _Standardised(net, y).fit(X, y)


def rmse(pred, y):
    """Root mean squared error of ``pred`` against the (clean) targets ``y``."""
    return float(np.sqrt(np.mean((pred - y) ** 2)))


def run_seed(spec, seed, only=None):
    X_tr, y_tr, y_fit, trusted, corrupted, X_te, y_te = scenario_data(spec, seed)
    res = {"rmse": {}, "time": {}, "auroc": {}}
    epochs = _epochs(len(y_fit))
    n_steps = -(-len(y_fit) // DEFAULTS.batch_size) * epochs

    def plain_ft():
        model = _plain(X_tr, y_fit, seed)
        return model.fit(X_tr[trusted], y_fit[trusted])

    def trusted_only():
        n_batches = -(-int(trusted.sum()) // DEFAULTS.batch_size)
        net = _net(X_tr.shape[1], seed, max(epochs, n_steps // n_batches)).initialize()
        return _Standardised(net, y_fit[trusted]).fit(X_tr[trusted], y_fit[trusted])

    def l2rw(**params):
        model = MetaReweightRegressor(random_state=seed, **params)
        return model.fit(X_tr, y_fit, clean_mask=trusted)

    fits = {
        "plain": lambda: _plain(X_tr, y_fit, seed),
        "plain-huber": lambda: _plain(X_tr, y_fit, seed, torch.nn.HuberLoss),
        "plain-es": lambda: _plain(X_tr, y_fit, seed, early_stopping=True),
        "plain-huber-es": lambda: _plain(X_tr, y_fit, seed, torch.nn.HuberLoss, True),
        "plain+FT": plain_ft,
        "trusted-only": trusted_only,
        "HuberRegressor": lambda: HuberRegressor(max_iter=1000).fit(X_tr, y_fit),
        "RANSACRegressor": lambda: RANSACRegressor(random_state=seed).fit(X_tr, y_fit),
        "oracle": lambda: _plain(X_tr, y_tr, seed),
        "l2rw": l2rw,
        "l2rw-squared": lambda: l2rw(loss="squared_error"),
        "l2rw-exact": lambda: l2rw(warmup_epochs=0, refine_epochs=0),
        "l2rw-fallback=plain": lambda: l2rw(fallback="plain"),
        "l2rw-max_epochs=auto": lambda: l2rw(max_epochs="auto"),
        "l2rw-warmup_epochs=17": lambda: l2rw(warmup_epochs=17),
        "l2rw-before-issue-18": lambda: l2rw(
            hidden_layer_sizes=(100,), max_epochs=50, warmup_epochs=17
        ),
    }
    for name, fit in fits.items():
        if only and name not in only:
            continue
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
        "the docstring of `benchmarks/quality_regression.py`. Every network method uses an MLP",
        f"{HIDDEN}, Adam, lr {DEFAULTS.lr}, batch {DEFAULTS.batch_size} and the budget rule of",
        '`max_epochs="auto"` (1,000 optimizer steps on the rows a fit trains on, 50 to 500',
        f"epochs); {N_TRUSTED} trusted rows. `l2rw` is `MetaReweightRegressor` with its defaults",
        f"(`hidden_layer_sizes={DEFAULTS.hidden_layer_sizes}`, "
        f"`max_epochs={DEFAULTS.max_epochs!r}`, `fallback={DEFAULTS.fallback!r}`);",
        ", ".join(f"`{m}`" for m in CANDIDATES) + " are candidate defaults, not baselines.",
        "**Bold**: the lowest non-oracle RMSE.",
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
    wins = dict.fromkeys(GROUPS, 0)
    checked = {group: [] for group in GROUPS}
    for path in sorted(
        RESULTS.glob("*.json"), key=lambda p: (list(GROUPS).index(group_of(p.stem)), p.stem)
    ):
        result = json.loads(path.read_text())
        runs = result["runs"]
        if result.get("protocol") != PROTOCOL:
            raise SystemExit(f"{path} predates the {PROTOCOL} protocol: rerun its scenario")
        means = {m: _mean_std(runs, "rmse", m) for m in METHODS}
        lowest = min(v[0] for m, v in means.items() if m != "oracle")
        cells = [
            (f"**{mu:.3f}**" if mu == lowest and m != "oracle" else f"{mu:.3f}") + f" ± {sd:.3f}"
            for m, (mu, sd) in means.items()
        ]
        name, best = best_baseline(runs)
        margin = means["l2rw"][0] - best
        group = group_of(result["scenario"])
        wins[group] += margin <= 0
        checked[group].append((result["scenario"], name, runs))
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
        + "; ".join(f"{wins[g]} of {len(checked[g])} {label}" for g, label in GROUPS.items())
        + ".",
        "",
        "The paired rule over seeds (RMSE, lower is better): a scenario is met when",
        "`l2rw`'s mean paired difference to the best non-oracle baseline is below 0 (a win) or",
        "at most one standard error of it (a tie); harm is `l2rw` above `plain` by more than",
        "one paired standard error.",
        "",
    ]
    for group, label in GROUPS.items():
        if not checked[group]:
            continue
        for method in ("l2rw", "l2rw-squared", *CANDIDATES):
            lines.append(f"- {label}, `{method}`: " + _check(checked[group], method))
    return "\n".join(lines + auroc_lines) + "\n"


def _paired(runs, method, other):
    """Mean and standard error over seeds of ``method``'s RMSE minus ``other``'s."""
    return paired_stats([r["rmse"][method] - r["rmse"][other] for r in runs])


def verdict(mean, se):
    """Issue 18's rule on a mean paired RMSE difference to the best baseline
    and its standard error: ``"win"``, ``"tie"`` or ``"lost"``."""
    return "win" if mean < 0 else "tie" if mean <= se else "lost"


def _check(rows, method):
    """Issue 18's rule for ``method`` over ``rows`` of ``(scenario, best baseline, runs)``."""
    wins, ties, lost, harmed, ratios = [], [], [], [], []
    for scenario, best, runs in rows:
        ratios.append(_mean_std(runs, "rmse", method)[0] / _mean_std(runs, "rmse", best)[0])
        mean, se = _paired(runs, method, best)
        cell = f"{scenario} ({best} {mean:+.3f}, SE {se:.3f})"
        {"win": wins, "tie": ties, "lost": lost}[verdict(mean, se)].append(cell)
        mean, se = _paired(runs, method, "plain")
        if mean > se:
            harmed.append(f"{scenario} ({mean:+.3f}, SE {se:.3f})")
    return (
        f"met {len(wins) + len(ties)} of {len(rows)} ({len(wins)} wins, {len(ties)} ties)"
        + ("; not met: " + ", ".join(lost) if lost else "")
        + "; above `plain` by more than one paired SE: "
        + (", ".join(harmed) if harmed else "none")
        + "; geometric mean of RMSE over the best baseline's "
        + f"{np.exp(np.mean(np.log(ratios))):.3f}."
    )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scenarios", help="comma-separated names (default: all)")
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument(
        "--methods", help="comma-separated methods to (re)run into the saved JSON (default: all)"
    )
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
    only = set(args.methods.split(",")) if args.methods else None
    for name in [] if args.assemble_only else names:
        path = RESULTS / f"{name}.json"
        old = json.loads(path.read_text())["runs"] if only and path.exists() else []
        runs = []
        for seed in range(args.seeds):
            runs.append(run_seed(specs[name], seed, only))
            if seed < len(old):
                for key in ("rmse", "time", "auroc"):
                    runs[-1][key] = {**old[seed][key], **runs[-1][key]}
            rmse = " ".join(f"{m}={v:.3f}" for m, v in runs[-1]["rmse"].items())
            print(f"{name} seed {seed}: {rmse}", flush=True)
        out = {
            "scenario": name,
            "spec": specs[name],
            "seeds": args.seeds,
            "runs": runs,
            "protocol": PROTOCOL,
        }
        path.write_text(json.dumps(out, indent=1))
    TABLE.write_text(assemble("python benchmarks/quality_regression.py"))
    print(TABLE.read_text())


if __name__ == "__main__":
    main()

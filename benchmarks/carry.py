"""The trusted-set weights carried to other models: gradient boosting and logistic regression.

For every noise scenario of ``quality.py`` (its data, splits, noise and
trusted rows, seed for seed) and each estimator (scikit-learn's
``HistGradientBoostingClassifier`` with its defaults, ``LogisticRegression``,
and LightGBM's ``LGBMClassifier`` with its defaults, one thread, where
``lightgbm`` is installed: ``pip install "sk_l2rw[lightgbm]"``),
test accuracy of:

- ``noisy``: the estimator on every training row as given (trusted rows with
  their true labels);
- ``trusted-up``: the same with the trusted rows weighted so that they weigh
  as much in total as the untrusted rows;
- ``cleanlab``: cleanlab's ``CleanLearning(estimator)`` (5-fold);
  (``trusted-up`` is ``carry="upweight"``, and ``carry="prune"`` flags
  what ``CleanLearning`` would with ``filter_by="confident_learning"``);
- ``weights`` / ``filter`` / ``relabel``: the estimator carried one fixed
  way from the ``reweighter_`` of ``auto``'s fit (untrusted rows weighted by
  its ``example_weights_``; rows with ``label_quality_ > 0`` and the trusted
  rows; every row, the others labelled with its prediction);
- ``auto``: ``ReweightedClassifier(estimator)`` with its defaults (the check
  chooses the way; ``carry_`` is recorded);
- ``l2rw``: that fit's ``reweighter_``, a default ``MetaReweightClassifier``
  (``max_epochs`` the scenario's), on its own;
- ``oracle``: the estimator on the true labels.

Scenario groups are reported apart: the quality benchmark's development and
held-out scenarios; three of this benchmark's own (``carry-heldout-*``),
added after the first carry rule (three ways) was fixed and before any
result was seen; three more (``carry-heldout2-*``), added with the ways
``upweight`` and ``prune`` before any result of the five-way rule; three
(``carry-heldout3-*``) before any result of the posterior check; three
(``carry-heldout4-*``) before any result of a check that offers the way
``relabel`` (the check keeps it only where the fold networks lead the
estimator as given on the held-back given labels); three
(``carry-heldout5-*``) before any result of the balanced guard that
``diagnose_carry.py`` calls ``guarded-b``, now the library's
``check_score="auto"`` (the posterior only where the fold networks lead the
estimator as given on class-balanced agreement with the held-back given
labels, else the given labels; ``relabel`` only where they lead); three
(``carry-heldout6-*``) before any result of that lead test with a tolerance
of one standard error.

The rule (``../shared/BENCHMARKS.md``): ``auto`` meets a scenario when its
mean paired difference to the best of ``noisy``, ``trusted-up`` and
``cleanlab`` is at least minus one standard error of that difference over
the seeds, and it is never below ``noisy`` by more than one.

Run (in parts, then assemble)::

    python benchmarks/carry.py --scenarios risk-moons-uniform-30 --seeds 5
    python benchmarks/carry.py --assemble-only --out docs/benchmarks/carry.md

Results per scenario and estimator go to ``benchmarks/results/carry/``; with
``--check-score posterior`` (the posterior always, the default of issue 19's
fourth to sixth turns) to ``benchmarks/results/carry-posterior/`` and the page
``carry_posterior.md``; with ``--check-score given`` (the given labels always,
the default before) to ``benchmarks/results/carry-given/`` and the page
``carry_given.md``.
With ``--cache DIR`` every fitted reweighter (the check's fold fits and the
full one) and every estimator fit is pickled there, keyed by its class,
parameters and the rows, labels, trusted mask and weights it was fitted on,
and loaded instead of refitted when the same fit comes again: the two
estimators of a seed share their reweighter fits, and a rerun after a change
to how the check scores its held-back rows refits nothing (a new way refits
only its own estimators). The fits are deterministic on one machine, so a
cached run reports what a fresh one does there; on another CPU the
reweighter's fits can differ in the last bits (measured: digits scenarios'
``filter`` moved by up to 0.02 of test accuracy per seed, generated ones did
not), so ``--fixed-from`` takes only the methods that need no reweighter from the
earlier results and recomputes the others.
"""

import argparse
import hashlib
import json
import os
import pickle
import sys
import warnings
from pathlib import Path

import numpy as np
import torch
from sklearn.base import clone
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.utils import check_random_state

try:  # an optional extra: pip install "sk_l2rw[lightgbm]"
    from lightgbm import LGBMClassifier
except ImportError:
    LGBMClassifier = None

sys.path.insert(0, str(Path(__file__).parent))
import quality  # noqa: E402

from sk_l2rw import MetaReweightClassifier, ReweightedClassifier  # noqa: E402

RESULTS = Path(__file__).parent / "results" / "carry"
ESTIMATORS = {  # the cached classes fit as their parents do
    "trees": lambda seed: CachedTrees(random_state=seed),
    "logistic": lambda seed: CachedLogistic(max_iter=2000),
    "lightgbm": lambda seed: cached_lightgbm(seed),
}
# The check's rule (``--check-score``) and where each rule's results go: the
# default's (ReweightedClassifier's own) to ``results/carry``.
DEFAULT_CHECK_SCORE = "auto"
CHECK_SCORE = DEFAULT_CHECK_SCORE
RESULTS_BY_SCORE = {
    "auto": RESULTS,
    "posterior": RESULTS.parent / "carry-posterior",
    "given": RESULTS.parent / "carry-given",
}
CACHE = None  # a directory for the reweighter and estimator fits (``--cache``), or None


def _fit_cached(model, fit, X, y, tag="", **kwargs):
    """``fit(X, y, **kwargs)``, or ``model``'s state as an earlier call with the
    same class ``tag``, parameters and arguments left it, from ``CACHE``."""
    if CACHE is None:
        return fit(X, y, **kwargs)
    key = hashlib.sha256((tag + repr(sorted(model.get_params().items()))).encode())
    given = {k: v for k, v in kwargs.items() if v is not None}
    for part in (X, y, *(given[k] for k in sorted(given))):
        part = np.ascontiguousarray(part)
        key.update(str((part.dtype, part.shape)).encode())
        key.update(part.tobytes())
    path = Path(CACHE) / f"{tag}{key.hexdigest()[:32]}.pkl"
    if path.exists():
        model.__dict__.update(pickle.loads(path.read_bytes()))
        return model
    fit(X, y, **kwargs)
    write_pickle(path, model.__dict__)
    return model


def write_pickle(path, obj):
    """Pickle ``obj`` to ``path`` atomically (two lanes may write one fit)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_bytes(pickle.dumps(obj))
    tmp.replace(path)


class CachedReweighter(MetaReweightClassifier):
    """``MetaReweightClassifier`` whose fits are kept in, and loaded from, ``CACHE``."""

    def fit(self, X, y, **kwargs):
        return _fit_cached(self, super().fit, X, y, **kwargs)


class CachedTrees(HistGradientBoostingClassifier):
    """``HistGradientBoostingClassifier`` whose fits are kept in ``CACHE`` (the
    check's and the carried fits are deterministic: a rerun after a change to
    how the check scores its rows refits nothing)."""

    def fit(self, X, y, sample_weight=None):
        return _fit_cached(self, super().fit, X, y, "trees-", sample_weight=sample_weight)


class CachedLogistic(LogisticRegression):
    """``LogisticRegression`` whose fits are kept in ``CACHE``."""

    def fit(self, X, y, sample_weight=None):
        return _fit_cached(self, super().fit, X, y, "logistic-", sample_weight=sample_weight)


def cached_lightgbm(seed):
    """LightGBM's ``LGBMClassifier`` with its defaults (one thread, quiet),
    its fits kept in ``CACHE``."""
    if LGBMClassifier is None:
        raise SystemExit('the "lightgbm" estimator needs lightgbm: pip install "sk_l2rw[lightgbm]"')
    return CachedLightGBM(random_state=seed, n_jobs=1, verbose=-1)


if LGBMClassifier is not None:

    class CachedLightGBM(LGBMClassifier):
        """``LGBMClassifier`` whose fits are kept in ``CACHE``."""

        def fit(self, X, y, sample_weight=None):
            return _fit_cached(self, super().fit, X, y, "lightgbm-", sample_weight=sample_weight)


BASELINES = ("noisy", "trusted-up", "cleanlab")
METHODS = (*BASELINES, "weights", "filter", "relabel", "auto", "l2rw", "oracle")
# The methods that need no reweighter: --fixed-from takes them as saved.
# "weights", "filter", "relabel" and "l2rw" are recomputed from auto's reweighter, whose
# fits can differ in the last bits from another machine's.
REWEIGHTER_FREE = (*BASELINES, "oracle")
WAYS = ("weights", "filter", "relabel", "upweight", "prune", "none")
# The held-out groups, in the order the page reports them.
HELD_GROUPS = (
    "heldout",
    "carry-heldout",
    "carry-heldout-2",
    "carry-heldout-3",
    "carry-heldout-4",
    "carry-heldout-5",
    "carry-heldout-6",
)


# Held out of the carry rule: added after ReweightedClassifier's check and
# guard were fixed, before any result of this benchmark was seen.
OWN_HELDOUT = {
    "carry-heldout-digits-pair-20": dict(
        group="carry-heldout", data="digits", kind="pair", rate=0.2, k=10, epochs="auto"
    ),
    "carry-heldout-wine-uniform-30": dict(
        group="carry-heldout", data="wine", kind="uniform", rate=0.3, k=5, epochs="auto"
    ),
    "carry-heldout-cancer-oneway-40": dict(
        group="carry-heldout",
        data="cancer",
        kind="oneway",
        rate=0.4,
        flip=(0, 1),
        k=10,
        epochs="auto",
    ),
}


# Held out of the carry rule of issue 19's second turn (the ways "trusted-up"
# and "prune" and the check that chooses among five): added before any
# result of that rule was seen.
OWN_HELDOUT_2 = {
    "carry-heldout2-penguins-uniform-40": dict(
        group="carry-heldout-2", data="penguins", kind="uniform", rate=0.4, k=5, epochs="auto"
    ),
    "carry-heldout2-fair-uniform-30": dict(
        group="carry-heldout-2", data="fair", kind="uniform", rate=0.3, k=10, epochs="auto"
    ),
    "carry-heldout2-hastie-uniform-30": dict(
        group="carry-heldout-2", data="hastie", kind="uniform", rate=0.3, k=10, epochs="auto"
    ),
}


# Held out of the posterior check of issue 19's third turn (the check scores
# held-back rows by the posterior of their true label): added before any
# result of that rule was seen.
OWN_HELDOUT_3 = {
    "carry-heldout3-quantiles-pair-40": dict(
        group="carry-heldout-3", data="quantiles", kind="pair", rate=0.4, k=10, epochs="auto"
    ),
    "carry-heldout3-wine-background-40": dict(
        group="carry-heldout-3", data="wine", kind="background", rate=0.4, k=5, epochs="auto"
    ),
    "carry-heldout3-penguins-background-30": dict(
        group="carry-heldout-3", data="penguins", kind="background", rate=0.3, k=5, epochs="auto"
    ),
}


# Held out of whatever rule offers "relabel" to the check (issue 19's fifth
# turn): added before any result of such a rule, after the diagnostic that
# measured "relabel" on trusted-1 and diamonds. Few trusted rows (where it
# won), a real table where the network fits worse than trees (where it harmed).
OWN_HELDOUT_4 = {
    "carry-heldout4-digits-uniform-30-k2": dict(
        group="carry-heldout-4", data="digits", kind="uniform", rate=0.3, k=2, epochs="auto"
    ),
    "carry-heldout4-diamonds-uniform-30": dict(
        group="carry-heldout-4", data="diamonds", kind="uniform", rate=0.3, k=10, epochs="auto"
    ),
    "carry-heldout4-wine-pair-40-k3": dict(
        group="carry-heldout-4", data="wine", kind="pair", rate=0.4, k=3, epochs="auto"
    ),
}


# Held out of the check that scores on the given labels where the fold
# networks do not lead the estimator as given on class-balanced agreement
# (diagnose_carry.py's guarded-b, issue 19's sixth turn): fixed after its
# diagnostic on the 36 scenarios above and before any result of it here.
# Background noise on a real table where the network fits worse than trees
# (the two failures that rule trades between), and two more data sets.
OWN_HELDOUT_5 = {
    "carry-heldout5-diamonds-background-30": dict(
        group="carry-heldout-5", data="diamonds", kind="background", rate=0.3, k=10, epochs="auto"
    ),
    "carry-heldout5-fair-background-30": dict(
        group="carry-heldout-5", data="fair", kind="background", rate=0.3, k=10, epochs="auto"
    ),
    "carry-heldout5-cancer-uniform-40-k3": dict(
        group="carry-heldout-5", data="cancer", kind="uniform", rate=0.4, k=3, epochs="auto"
    ),
}


# Held out of a lead test with a tolerance (the fold networks lead unless they
# trail the estimator as given by more than one standard error of the paired
# class-balanced agreement; issue 19's seventh turn): fixed after
# ``check_score="auto"`` (the strict lead test) was measured on the 39
# scenarios above and before any result of the tolerance. Small data with
# background noise (where the lead test is noisy and the strict one cost wine
# with 40 % background noise) and a real table where the network trails the
# trees (diamonds).
OWN_HELDOUT_6 = {
    "carry-heldout6-diamonds-pair-20": dict(
        group="carry-heldout-6", data="diamonds", kind="pair", rate=0.2, k=10, epochs="auto"
    ),
    "carry-heldout6-iris-background-30": dict(
        group="carry-heldout-6", data="iris", kind="background", rate=0.3, k=5, epochs="auto"
    ),
    "carry-heldout6-wine-background-30": dict(
        group="carry-heldout-6", data="wine", kind="background", rate=0.3, k=5, epochs="auto"
    ),
}


def noise_scenarios():
    """The noise scenarios of the quality benchmark (no imbalance, no
    trusted-size sweep), then this benchmark's own held-out ones."""
    specs = {
        name: spec
        for name, spec in quality.scenarios().items()
        if spec["group"] in ("noise", "risk", "classweight", "trusted", "heldout")
    }
    return {
        **specs,
        **OWN_HELDOUT,
        **OWN_HELDOUT_2,
        **OWN_HELDOUT_3,
        **OWN_HELDOUT_4,
        **OWN_HELDOUT_5,
        **OWN_HELDOUT_6,
    }


def check_folds(seed, trusted, n_folds=2):
    """The seed ``ReweightedClassifier(random_state=seed)`` derives, and the
    fold of each row in its check (-1 for trusted rows), as its ``fit`` draws them."""
    rng = check_random_state(seed)
    derived = int(rng.randint(np.iinfo(np.int32).max))
    untrusted = np.flatnonzero(~trusted)
    fold = np.full(len(trusted), -1)
    fold[untrusted] = rng.permutation(len(untrusted)) % n_folds
    return derived, fold


def fill_cache(spec, seed):
    """Only the reweighter fits of one seed (the check's folds, then every row), into ``CACHE``."""
    X, _, y, trusted, *_ = quality.scenario_data(spec, seed)
    clf = ReweightedClassifier(
        reweighter=CachedReweighter(max_epochs=spec["epochs"], random_state=seed),
        random_state=seed,
    )
    derived, fold = check_folds(seed, trusted, clf.n_folds)
    for k in range(clf.n_folds):
        train = fold != k
        clf._fit_reweighter(X[train], y[train], trusted[train], None, derived)
    clf._fit_reweighter(X, y, trusted, None, derived)


def run_seed(spec, seed, estimator_name, saved=None):
    """One seed of one scenario and estimator; ``saved``, an earlier result
    of the same seed, gives the methods that need no reweighter
    (``REWEIGHTER_FREE``: deterministic) instead of refitting them."""
    from cleanlab.classification import CleanLearning

    X, y_true, y, trusted, X_te, y_te, metric = quality.scenario_data(spec, seed)
    make = ESTIMATORS[estimator_name]

    def score(model):
        return float(metric(y_te, model.predict(X_te)))

    auto = ReweightedClassifier(
        make(seed),
        reweighter=CachedReweighter(max_epochs=spec["epochs"], random_state=seed),
        check_score=CHECK_SCORE,
        random_state=seed,
    ).fit(X, y, clean_mask=trusted)
    out = {
        "auto": score(auto),
        "carry": auto.carry_,
        "check": auto.carry_check_,
        "check_score": CHECK_SCORE,
    }
    out["l2rw"] = score(auto.reweighter_)
    w = np.where(trusted, 1.0, auto.example_weights_)
    out["weights"] = score(make(seed).fit(X, y, sample_weight=w))
    keep = trusted | (auto.label_quality_ > 0)
    out["filter"] = score(make(seed).fit(X[keep], y[keep]))
    # carry="relabel" from the same reweighter, by the library's own fit.
    out["relabel"] = score(
        auto._fit_carried(make(seed), auto.reweighter_, X, y, trusted, None, "relabel", seed)
    )
    if saved:
        return {**{m: saved[m] for m in REWEIGHTER_FREE}, **out}
    out["noisy"] = score(make(seed).fit(X, y))
    up = (~trusted).sum() / trusted.sum()
    out["trusted-up"] = score(make(seed).fit(X, y, sample_weight=np.where(trusted, up, 1.0)))
    cl = CleanLearning(make(seed), seed=seed, verbose=False)
    out["cleanlab"] = score(cl.fit(X, y))
    out["oracle"] = score(clone(make(seed)).fit(X, y_true))
    return out


def run(names, seeds, estimators, fixed_from=None):
    specs = noise_scenarios()
    RESULTS_BY_SCORE[CHECK_SCORE].mkdir(parents=True, exist_ok=True)
    for name in names:
        for seed in range(seeds):  # a seed's estimators share the cached reweighter fits
            for est in estimators:
                path = RESULTS_BY_SCORE[CHECK_SCORE] / f"{name}--{est}.json"
                done = json.loads(path.read_text()) if path.exists() else {}
                if str(seed) in done:
                    continue
                saved = None
                earlier = Path(fixed_from) / f"{name}--{est}.json" if fixed_from else None
                if earlier is not None and earlier.exists():
                    saved = json.loads(earlier.read_text()).get(str(seed))
                done[str(seed)] = run_seed(specs[name], seed, est, saved)
                path.write_text(json.dumps(done, indent=1))
                r = done[str(seed)]
                print(
                    f"{name} {est} seed {seed}: "
                    + ", ".join(f"{m} {r[m]:.3f}" for m in METHODS if m in r)
                    + f" (carry {r['carry']})",
                    flush=True,
                )


def _paired(rows, a, b):
    """Mean and standard error over seeds of ``a - b``."""
    return quality.paired_stats([r[a] - r[b] for r in rows])


def _check_score(row):
    """The ``check_score`` a seed was measured with (results from before it
    was recorded: the rule its check says it scored by)."""
    if "check_score" in row:
        return row["check_score"]
    return (row["check"] or {}).get("score", "given")


def _posterior_seeds(rows):
    """How many seeds' checks scored the held-back rows on the posterior."""
    return sum((r["check"] or {}).get("score") == "posterior" for r in rows)


# Each scenario group's label in the held-out table (the footer says what
# each was held out of).
GROUP_LABELS = {
    "development": "development",
    "heldout": "quality",
    "carry-heldout": "rule 1",
    "carry-heldout-2": "five-way",
    "carry-heldout-3": "posterior",
    "carry-heldout-4": "relabel",
    "carry-heldout-5": "guard",
    "carry-heldout-6": "tolerance",
}
TABLE_TITLES = {
    "development": "the quality benchmark's development scenarios",
    "held-out": "held-out scenarios",
}
GROUPS_NOTE = (
    "Held-out groups: `quality`, the quality benchmark's held-out scenarios; `rule 1`, "
    "held out of the first carry rule (added after it was fixed); the others held out of "
    "the rule they name, added before its results: `five-way` (the five-way rule), "
    "`posterior` (the posterior check), `relabel` (a check with relabel), `guard` (the "
    "balanced guard), `tolerance` (the guard's tolerance)."
)


def assemble(out):
    specs = noise_scenarios()
    default = CHECK_SCORE == DEFAULT_CHECK_SCORE
    flag = "" if default else f" --check-score {CHECK_SCORE}"
    page = "carry.md" if default else f"carry_{CHECK_SCORE}.md"
    lines = [
        "## Carried to other models (`ReweightedClassifier`"
        + ("" if default else f', `check_score="{CHECK_SCORE}"`, not the default')
        + ")",
        "",
        f"Generated by `python benchmarks/carry.py{flag}` (per scenario) then "
        f"`python benchmarks/carry.py{flag} --assemble-only --out docs/benchmarks/{page}`. "
        "Test accuracy, mean over "
        "seeds (their number in the last column); `auto` is `ReweightedClassifier(estimator)` "
        "with its defaults, its chosen ways counted beside it; **met**: a win or a tie "
        "against the best of `noisy`, `trusted-up` and `cleanlab` (mean paired difference "
        "at least minus one standard error); **harm**: below `noisy` by more than one "
        "paired standard error.",
        "",
    ]
    marked = 0
    # Per estimator, the scenarios where the network alone is ahead of, level
    # with and behind auto by one paired standard error (two seeds or more).
    network = {}
    for est in ESTIMATORS:
        # One table for the development scenarios, one for every held-out
        # group (its group in a column, its count in the title).
        tables = {"development": ([], []), "held-out": ([], [])}
        for held in ("development", *HELD_GROUPS):
            rows_md, met, harms, total = [], 0, 0, 0
            short = GROUP_LABELS[held]
            for name, spec in specs.items():
                group = spec["group"] if spec["group"] in HELD_GROUPS else None
                if (group or "development") != held:
                    continue
                path = RESULTS_BY_SCORE[CHECK_SCORE] / f"{name}--{est}.json"
                if not path.exists():
                    continue
                rows = list(json.loads(path.read_text()).values())
                # A method missing from any seed (results from before it) shows "-".
                means = {
                    m: np.mean([r[m] for r in rows]) if all(m in r for r in rows) else None
                    for m in METHODS
                }
                best = max(BASELINES, key=means.get)
                diff, se = _paired(rows, "auto", best)
                harm_diff, harm_se = _paired(rows, "auto", "noisy")
                ok = diff >= -se
                harm = harm_diff < -harm_se
                met += ok
                harms += harm
                total += 1
                carries = {c: sum(r["carry"] == c for r in rows) for c in WAYS}
                verdict = ("win" if diff > 0 else "tie") if ok else "lost"
                other = any(_check_score(r) != CHECK_SCORE for r in rows)
                marked += other
                verdict += ", harm" if harm else ""
                if len(rows) < 2:  # no standard error yet: not counted
                    verdict, met, harms, total = "one seed", met - ok, harms - harm, total - 1
                else:
                    lead, lead_se = _paired(rows, "l2rw", "auto")
                    tally = network.setdefault(est, {"ahead": 0, "level": 0, "behind": 0})
                    side = "ahead" if lead > lead_se else "behind" if lead < -lead_se else "level"
                    tally[side] += 1
                rows_md.append(
                    f"| {name}{' †' if other else ''} | "
                    + ("" if held == "development" else f"{short} | ")
                    + " | ".join("-" if means[m] is None else f"{means[m]:.3f}" for m in METHODS)
                    + f" | {verdict} ({diff:+.3f} ± {se:.3f} vs {best}) | "
                    + " ".join(f"{c[0]}{n}" for c, n in carries.items() if n)
                    + (f" · P{_posterior_seeds(rows)}" if CHECK_SCORE == "auto" else "")
                    + f" | {len(rows)} |"
                )
            if not rows_md:
                continue
            table, counts = tables["development" if held == "development" else "held-out"]
            table += rows_md
            counts.append(f"{short}: met {met} of {total}, harm in {harms}")
        for kind, (rows_md, counts) in tables.items():
            if not rows_md:
                continue
            group = "" if kind == "development" else "held out of | "
            lines += [
                f"### {est}, {TABLE_TITLES[kind]}",
                "",
                ("" if kind == "development" else "By group: ") + "; ".join(counts) + ".",
                "",
                f"| scenario | {group}"
                + " | ".join(METHODS)
                + " | auto vs best baseline | ways | seeds |",
                "|---" * (len(METHODS) + 4 + bool(group)) + "|",
                *rows_md,
                "",
            ]
    if network:
        lines.append(
            "The network alone (`l2rw`) against `auto`, by one paired standard error over "
            "the seeds: "
            + "; ".join(
                f"{est} ahead in {n['ahead']}, level in {n['level']}, behind in "
                f"{n['behind']} of {sum(n.values())}"
                for est, n in network.items()
            )
            + ".\n"
        )
    if marked:
        lines.append(
            "† some seeds measured with the check scoring held-back rows otherwise than "
            f'`check_score="{CHECK_SCORE}"`.\n'
        )
    lines.append(GROUPS_NOTE + "\n")
    lines.append(
        "Ways: `w` weights, `f` filter, `r` relabel (every row, those filter drops labelled "
        "with the reweighter's prediction; kept by the check only where the fold networks "
        "predict the held-back given labels, classes balanced, no worse than the estimator "
        "as given within one standard error), "
        "`u` upweight (the trusted rows weighted up), "
        "`p` prune (confident learning with the estimator's own out-of-fold "
        "probabilities), `n` none (the estimator on the rows as given)"
        + (
            "; `P` counts the seeds whose check scored on the posterior (the fold networks "
            "no worse), the others scoring on the given labels"
            if CHECK_SCORE == "auto"
            else ""
        )
        + ". The reweighter is "
        "the library's default `MetaReweightClassifier` (its current defaults: two "
        'hidden layers of 100, the "auto" budget), so these figures change with its defaults.'
    )
    if default:
        lines.append(
            "\nThe three estimators' `weights`, `filter`, `relabel`, `auto` and `l2rw` columns "
            "were measured in one run on one machine (with the current check rule, `--fixed-from` "
            "the earlier results for the methods that need no reweighter); the reweighter's "
            "fits differ across CPUs in the last bits, so a rerun elsewhere moves them slightly."
        )
    text = "\n".join(lines) + "\n"
    if out:
        Path(out).write_text(text)
    return text


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenarios", default=",".join(noise_scenarios()))
    parser.add_argument(
        "--estimators",
        default=",".join(e for e in ESTIMATORS if e != "lightgbm" or LGBMClassifier is not None),
        help="comma-separated, of " + ", ".join(ESTIMATORS) + " (default: those installed)",
    )
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--assemble-only", action="store_true")
    parser.add_argument("--out", help="write the Markdown tables here")
    parser.add_argument(
        "--cache", help="keep and reuse the reweighter and estimator fits in this directory"
    )
    parser.add_argument(
        "--fixed-from",
        help="a directory of earlier results whose methods that need no reweighter "
        "(noisy, trusted-up, cleanlab, oracle) are taken as they are",
    )
    parser.add_argument(
        "--check-score",
        choices=tuple(RESULTS_BY_SCORE),
        default=DEFAULT_CHECK_SCORE,
        help="ReweightedClassifier's check_score (default: its default); the others' "
        "results go to results/carry-posterior and results/carry-given",
    )
    parser.add_argument(
        "--fill-cache", action="store_true", help="only fit the reweighters, into --cache"
    )
    args = parser.parse_args(argv)
    global CHECK_SCORE
    CHECK_SCORE = args.check_score
    if args.fill_cache and not args.cache:
        parser.error("--fill-cache needs --cache")
    global CACHE
    CACHE = args.cache
    torch.set_num_threads(1)
    warnings.filterwarnings("ignore", category=UserWarning)
    if args.fill_cache:
        specs = noise_scenarios()
        for name in args.scenarios.split(","):
            for seed in range(args.seeds):
                fill_cache(specs[name], seed)
                print(f"{name} seed {seed}: cached", flush=True)
        return
    if not args.assemble_only:
        run(args.scenarios.split(","), args.seeds, args.estimators.split(","), args.fixed_from)
    print(assemble(args.out))


if __name__ == "__main__":
    main()

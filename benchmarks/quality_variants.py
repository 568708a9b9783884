"""Candidate defaults for MetaReweightClassifier, on the quality benchmark's data.

Each variant changes one setting of ``MetaReweightClassifier`` (or adds a
fine-tune on the trusted rows after fit) and is scored on the same seeds and data as
``quality.py``'s ``l2rw``, so its mean can be compared with that column.
A variant becomes a default only if it wins across the scenarios.

Usage::

    python benchmarks/quality_variants.py --scenarios digits-uniform-40 --seeds 5
    python benchmarks/quality_variants.py --variants "default,paper-exact" \\
        --scenarios digits-uniform-40,imb-synth-0.995

Ablations of the defaults (see the user guide)::

    python benchmarks/quality_variants.py \\
        --variants "default,warmup_epochs=0,no-meta (ablation),keep-final-p0.5" \\
        --scenarios digits-uniform-40,digits-pair-30,synth-matrix-40,trusted-1 --seeds 5

Variants: ``warmup_epochs=0`` / ``warmup-F`` (the share of ``max_epochs`` spent
warming up), ``split-W-R`` (the shares of ``max_epochs`` spent warming up and
refining; the meta epochs are the rest), ``no-meta (ablation)`` (every epoch
before the refinement a plain warm-up epoch: what the meta step adds),
``keep-*`` (other rules for the rows the refinement epochs visit, e.g.
``keep-final-p0.5``: the model's probability of the label when the refinement
begins is at least 0.5, the rule before ``label_quality_`` became a training
record). Every variant's ``fit`` takes ``max_epochs`` epochs in all, the
refinement's included (``fine-tune-N`` then adds its N passes).

``default`` is the estimator's defaults, selection round included;
``fallback=None`` the reweighted fit alone (the defaults before issue 14);
``fallback=plain`` plain epochs as the fallback. Every other variant changes
the reweighted fit alone (``fallback=None``), as when it was measured
(``select-*``, benchmark-only levers measured before the fallback, choose
between it and a plain net: ``_SelectPlain``).
"""

import argparse
import json
import sys
import warnings
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from skorch.callbacks import LRScheduler

sys.path.insert(0, str(Path(__file__).resolve().parent))
import quality  # noqa: E402
from _baselines import PlainNet  # noqa: E402

from sk_l2rw import MetaReweightClassifier  # noqa: E402
from sk_l2rw._base import auto_epochs  # noqa: E402
from sk_l2rw._net import MetaReweightNet  # noqa: E402


def _continue(clf, X, y, mask, epochs, seed):
    """Continue training ``clf``'s module with its optimizer, plain mean loss on ``mask`` rows."""
    module, optimizer = clf.net_.module_, clf.net_.optimizer_
    X = torch.as_tensor(X[mask], dtype=torch.float32)
    y = torch.as_tensor(np.searchsorted(clf.classes_, y[mask]))
    gen = torch.Generator().manual_seed(seed)
    module.train()
    for _ in range(epochs):
        perm = torch.randperm(len(y), generator=gen)
        for start in range(0, len(y), clf.batch_size):
            idx = perm[start : start + clf.batch_size]
            optimizer.zero_grad()
            F.cross_entropy(module(X[idx]), y[idx]).backward()
            optimizer.step()
    module.eval()


def _fine_tune(epochs):
    """Fit as usual, then ``epochs`` passes over the trusted rows (as plain+FT)."""

    def after(clf, X, y, trusted, seed):
        _continue(clf, X, y, trusted, epochs, seed)

    return {}, after


class _NoMeta(MetaReweightClassifier):
    """Ablation: every epoch before the refinement is a warm-up (plain) epoch.

    The refinement keeps its epochs and the warm-up takes the meta epochs' too,
    so the net runs no meta epoch (its ``phase_of`` never says ``"meta"``).
    """

    def _phase_epochs(self, warm):
        _, refine = super()._phase_epochs(warm)
        return self.max_epochs - refine, refine


class _TrainingRowsNet(MetaReweightNet):
    """The net of the defaults, keeping the training rows to judge them by the model."""

    def on_train_begin(self, net, X=None, y=None, **kwargs):
        super().on_train_begin(net, X=X, y=y, **kwargs)
        self.X_train_ = X

    def _proba(self):
        """Softmax probabilities of the training rows under the current module, in eval mode."""
        X = torch.as_tensor(self.X_train_, device=self.device)
        chunks = [self.eval_output(X[i : i + 4096]) for i in range(0, len(X), 4096)]
        return torch.cat([F.softmax(c.float(), 1) for c in chunks]).cpu().numpy()


class _KeepRuleNet(_TrainingRowsNet):
    """Ablation: another rule for the rows the refinement visits.

    ``keep_rule`` names it: ``"final"``, the model's own margin when the
    refinement begins (after the warm-up and meta epochs) is positive (its
    argmax is the given label); ``"final-p0.5"``, that model gives the label a
    probability of at least 0.5 (the rule before ``label_quality_`` became a
    training record); ``"and"``, ``"or"``, ``"mean"``: the training-record
    margin (``margins()``) combined with ``"final"``; ``"count"``: the top rows
    by training-record margin, as many as are estimated to be correctly
    labelled (``_count_rule``); ``"gmm"``: ``_gmm_rule``. Trusted rows are
    always kept, as by the default rule.
    """

    keep_rule = "final"

    def refine_rows(self):
        record = self.margins()
        y = self.y_train_
        rule = self.keep_rule
        if rule == "count":
            mask = self._count_rule(record)
        elif rule == "gmm":
            mask = self._gmm_rule(record)
        else:
            # The final model's view, needed by these rules only.
            proba = self._proba()
            given = proba[np.arange(len(y)), y]
            final = quality.proba_margin(proba, y)
            mask = {
                "final": final > 0,
                "final-p0.5": given >= 0.5,
                "and": (final > 0) & (record > 0),
                "or": (final > 0) | (record > 0),
                "mean": (final + record) > 0,
            }[rule]
        mask[self.trusted_rows_] = True
        return np.flatnonzero(mask)

    def _trusted_mask(self, n):
        trusted = np.zeros(n, bool)
        trusted[self.trusted_rows_] = True
        return trusted

    def _gmm_rule(self, record):
        """Rows more likely in the high-margin component of a 2-Gaussian mixture.

        As DivideMix (Li et al., 2020) splits rows by their loss: fitted to the
        untrusted rows' training-record margins.
        """
        from sklearn.mixture import GaussianMixture

        trusted = self._trusted_mask(len(record))
        values = record[~trusted].reshape(-1, 1)
        gmm = GaussianMixture(2, random_state=0).fit(values)
        clean = int(np.argmax(gmm.means_.ravel()))
        mask = np.zeros(len(record), bool)
        mask[np.flatnonzero(~trusted)] = gmm.predict_proba(values)[:, clean] > 0.5
        return mask

    def _count_rule(self, record):
        """Keep as many top-margin rows as are estimated correctly labelled.

        The share of untrusted rows with margin <= 0 counts both mislabelled
        rows and correct but hard ones; the trusted rows' share estimates the
        latter, so the noise rate is estimated as (dropped - hard) / (1 - hard).
        """
        trusted = self._trusted_mask(len(record))
        hard = np.mean(record[trusted] <= 0) if trusted.any() else 0.0
        dropped = np.mean(record[~trusted] <= 0)
        noise = np.clip((dropped - hard) / max(1 - hard, 1e-12), 0, 1)
        rows = np.flatnonzero(~trusted)
        n_keep = int(round((1 - noise) * len(rows)))
        mask = np.zeros(len(record), bool)
        mask[rows[np.argsort(-record[rows], kind="stable")[:n_keep]]] = True
        return mask


class _ProbaRecordNet(MetaReweightNet):
    """Also sums each row's softmax probabilities at its warm-up and meta steps.

    That is the n x k training record, over the epochs ``margins()`` averages.
    """

    def on_train_begin(self, net, X=None, y=None, **kwargs):
        super().on_train_begin(net, X=X, y=y, **kwargs)
        self.proba_sums_ = np.zeros((len(X), len(self.classes)))

    def train_step_single(self, batch, **fit_params):
        sampler = self.iterator_train__sampler
        start = sampler._pos
        out = super().train_step_single(batch, **fit_params)
        if self.phase_ != "refine":
            rows = sampler._order[start : start + len(batch[1])]
            self.proba_sums_[rows] += F.softmax(out["y_pred"].detach(), 1).cpu().numpy()
        return out


class _KeepConfidentNet(_ProbaRecordNet):
    """Refine on the rows confident learning does not flag, from the training record.

    Confident learning (Northcutt et al., 2021) on the mean training-record
    probabilities ``P``: class ``j``'s threshold ``t_j`` is the mean ``P[:, j]``
    over rows labelled ``j``; a row is flagged when the likeliest class among
    those whose probability reaches their threshold is not its label.
    """

    def refine_rows(self):
        P = self.proba_sums_ / max(self.margin_epochs_, 1)
        y = self.y_train_
        k = P.shape[1]
        t = np.array([P[y == j, j].mean() if np.any(y == j) else 1.0 for j in range(k)])
        above = P >= t
        confident = np.where(above.any(1), np.where(above, P, -1.0).argmax(1), y)
        mask = confident == y
        mask[self.trusted_rows_] = True
        return np.flatnonzero(mask)


def _with_net(net_class):
    """The defaults with another net (its own ``refine_rows``)."""
    return type(f"_With{net_class.__name__}", (MetaReweightClassifier,), {"_net_class": net_class})


def _keep_rule(rule):
    return _with_net(type(f"_KeepNet_{rule}", (_KeepRuleNet,), {"keep_rule": rule}))


_KeepConfident = _with_net(_KeepConfidentNet)


class _SelectPlain:
    """A candidate lever of the 'Defaults that never lose' issue, not a default:
    hold back a share of the untrusted rows, fit the defaults and a plain
    network (``_baselines.PlainNet``, same budget) on the rest, and keep the
    one with the higher accuracy on the held-back rows' given (noisy) labels.
    Under class-conditional noise with a dominant diagonal, that accuracy is
    an increasing function of the clean accuracy. ``refit`` refits the chosen
    kind on every row; ``guard`` asks the plain net to be ahead by that many
    standard errors of the paired per-row difference."""

    def __init__(self, max_epochs, random_state, held_back=0.15, refit=False, guard=0.0):
        self.max_epochs, self.random_state = max_epochs, random_state
        self.held_back, self.refit, self.guard = held_back, refit, guard

    def _fits(self, X, y, clean_mask):
        l2rw = MetaReweightClassifier(
            max_epochs=self.max_epochs, random_state=self.random_state, fallback=None
        )
        plain = PlainNet(max_epochs=self.max_epochs, random_state=self.random_state)
        return {
            "l2rw": lambda rows: l2rw.fit(X[rows], y[rows], clean_mask=clean_mask[rows]),
            "plain": lambda rows: plain.fit(X[rows], y[rows]),
        }

    def fit(self, X, y, clean_mask):
        rng = np.random.RandomState(self.random_state)
        held = ~clean_mask & (rng.rand(len(y)) < self.held_back)
        fits = self._fits(X, y, clean_mask)
        models = {k: fit(np.flatnonzero(~held)) for k, fit in fits.items()}
        right = {k: m.predict(X[held]) == y[held] for k, m in models.items()}
        # Switch to the plain net only when it is ahead by more than ``guard``
        # standard errors of the paired per-row difference.
        diff = right["plain"].astype(float) - right["l2rw"]
        se = diff.std(ddof=1) / np.sqrt(len(diff)) if len(diff) > 1 else np.inf
        self.chosen_ = "plain" if diff.mean() > self.guard * se and diff.mean() > 0 else "l2rw"
        self.model_ = models[self.chosen_]
        if self.refit:
            self.model_ = self._fits(X, y, clean_mask)[self.chosen_](np.arange(len(y)))
        return self

    def predict(self, X):
        return self.model_.predict(X)


VARIANTS = {
    "default": lambda epochs: ({}, None),
    "paper-exact": lambda epochs: (
        {"warmup_epochs": 0, "refine_epochs": 0},
        None,
    ),
    "warmup_epochs=0": lambda epochs: ({"warmup_epochs": 0}, None),
    "warmup-0.6": lambda epochs: ({"warmup_epochs": int(0.6 * epochs)}, None),
    "warmup-0.7": lambda epochs: ({"warmup_epochs": int(0.7 * epochs)}, None),
    "warmup-0.8": lambda epochs: ({"warmup_epochs": int(0.8 * epochs)}, None),
    "warmup-0.9": lambda epochs: ({"warmup_epochs": min(epochs - 1, int(0.9 * epochs))}, None),
    "refine_epochs=0": lambda epochs: ({"refine_epochs": 0}, None),
    # How the phases share max_epochs: split-W-R is W warm-up, R refinement (shares).
    **{
        f"split-{w}-{r}": (
            lambda epochs, w=w, r=r: (
                {"warmup_epochs": int(w * epochs), "refine_epochs": int(r * epochs)},
                None,
            )
        )
        for w, r in ((0.35, 0.5), (0.5, 0.3), (0.6, 0.2), (0.4, 0.4), (0.3, 0.3), (0.5, 0.4))
    },
    "no-meta (ablation)": lambda epochs: ({}, None, _NoMeta),
    "keep-final": lambda epochs: ({}, None, _keep_rule("final")),
    "keep-final-p0.5": lambda epochs: ({}, None, _keep_rule("final-p0.5")),
    "keep-and": lambda epochs: ({}, None, _keep_rule("and")),
    "keep-or": lambda epochs: ({}, None, _keep_rule("or")),
    "keep-mean": lambda epochs: ({}, None, _keep_rule("mean")),
    "keep-count": lambda epochs: ({}, None, _keep_rule("count")),
    "keep-gmm": lambda epochs: ({}, None, _keep_rule("gmm")),
    "keep-confident": lambda epochs: ({}, None, _KeepConfident),
    "lr=3e-3": lambda epochs: ({"lr": 3e-3}, None),
    "adamw": lambda epochs: ({"optimizer": "adamw"}, None),
    "train_on_clean=False": lambda epochs: ({"train_on_clean": False}, None),
    "clean_batch_size=32": lambda epochs: ({"clean_batch_size": 32}, None),
    "cosine-lr": lambda epochs: (
        {"callbacks": [("lr_schedule", LRScheduler("CosineAnnealingLR", T_max=epochs))]},
        None,
    ),
    "fine-tune-50": lambda epochs: _fine_tune(50),
    "fallback=None": lambda epochs: ({"fallback": None}, None),
    # Issue 18's ablation: each of its defaults back to what it was.
    "max_epochs=50": lambda epochs: ({"max_epochs": 50}, None),
    "one-layer-of-100": lambda epochs: ({"hidden_layer_sizes": (100,)}, None),
    # Phase lengths under the longer budget: the warm-up and refinement as
    # at 50 epochs (17 and 25 passes), the meta epochs taking the rest.
    "phases-50": lambda epochs: (
        {"warmup_epochs": int(0.35 * min(epochs, 50)), "refine_epochs": int(0.5 * min(epochs, 50))},
        None,
    ),
    "warmup-cap-17": lambda epochs: ({"warmup_epochs": int(0.35 * min(epochs, 50))}, None),
    # The rule before the cap (35 % of max_epochs, however long).
    "warmup-uncapped": lambda epochs: ({"warmup_epochs": int(0.35 * epochs)}, None),
    "before-issue-18": lambda epochs: (
        {"max_epochs": 50, "hidden_layer_sizes": (100,)},
        None,
    ),
    # Issue 18's class weighting: sklearn's convention or the trusted shares
    # (the default until issue 18's class-weight scenarios).
    "class_weight=None": lambda epochs: ({"class_weight": None}, None),
    "class_weight=trusted": lambda epochs: ({"class_weight": "trusted"}, None),
    "class_weight=balanced": lambda epochs: ({"class_weight": "balanced"}, None),
    "fallback=plain": lambda epochs: ({"fallback": "plain"}, None),
    "select-plain": lambda epochs: ({}, None, _SelectPlain),
    "select-plain-refit": lambda epochs: ({"refit": True}, None, _SelectPlain),
    "select-plain-refit-guard": lambda epochs: ({"refit": True, "guard": 2.0}, None, _SelectPlain),
}


def score(name, spec, variant, seed):
    X_tr, y_tr, y_fit, trusted, X_te, y_te, metric = quality.scenario_data(spec, seed)
    epochs = spec["epochs"]
    if epochs == "auto":  # the epochs the defaults would take on these rows
        epochs = auto_epochs(len(y_fit), 128)
    params, after, *cls = VARIANTS[variant](epochs)
    if not variant.startswith(
        (
            "default",
            "fallback",
            "select-",
            "max_epochs",
            "hidden",
            "before",
            "phases",
            "warmup-cap",
            "warmup-unc",
            "class_weight",
        )
    ):
        # The reweighted fit's variants: of the fit alone, without the selection round.
        params = {"fallback": None, **params}
    cls = cls[0] if cls else MetaReweightClassifier
    clf = cls(**{"max_epochs": spec["epochs"], "random_state": seed, **params})
    clf.fit(X_tr, y_fit, clean_mask=trusted)
    if after is not None:
        after(clf, X_tr, y_fit, trusted, seed)
    return float(metric(y_te, clf.predict(X_te)))


def _saved_default(name, seeds):
    """``quality.py``'s saved ``l2rw`` accuracies of ``name`` (the same fits
    as the ``default`` variant: same data, seeds and defaults), or None when
    they are not saved under the current protocol for these seeds."""
    path = quality.RESULTS / f"{name}.json"
    if not path.exists():
        return None
    result = json.loads(path.read_text())
    runs = result["runs"]
    if result.get("protocol") != quality.PROTOCOL or len(runs) < seeds:
        return None
    if not all("l2rw" in run["acc"] for run in runs[:seeds]):
        return None
    return [run["acc"]["l2rw"] for run in runs[:seeds]]


def _best_baseline(name, out_dir=quality.RESULTS):
    """The best non-oracle baseline's mean in ``quality.py``'s saved results, or None."""
    path = out_dir / f"{name}.json"
    if not path.exists():
        return None
    result = json.loads(path.read_text())
    return quality.best_baseline(result, result["runs"][0]["acc"])


# The pages wide_table writes: what each one's columns are.
PAGE_KINDS = ("earlier", "issue-18", "class-weight")


def wide_table(results, variants, command, *, kind="issue-18"):
    """Markdown: one row per scenario, one column per variant, and the best
    baseline. ``kind``: ``"earlier"``, the page of the ablation before issue
    18, whose baselines were of that protocol and are not shown;
    ``"issue-18"``, issue 18's ablation, measured with the defaults of its
    first round (``class_weight="trusted"``); ``"class-weight"``, issue 18's
    class-weight comparison on the development scenarios."""
    if kind not in PAGE_KINDS:
        raise ValueError(f"kind must be one of {PAGE_KINDS}; got {kind!r}")
    earlier = kind == "earlier"
    title = {
        "earlier": "Ablations of the earlier defaults",
        "issue-18": "Ablations of the defaults",
        "class-weight": "Class weighting on the development scenarios",
    }[kind]
    lines = quality.markdown_header(title, command) + [
        "Mean over seeds of test accuracy (balanced accuracy for imbalance), each variant",
        "of `MetaReweightClassifier` on the quality benchmark's data and seeds",
        "(`benchmarks/quality_variants.py` docstring).",
    ]
    if earlier:
        lines += [
            "Measured with the earlier defaults (one hidden layer of 100, 50 epochs,",
            "the fallback from the warm-up), before the baselines got two layers and the",
            '"auto" budget: compare the variants with one another, not with the quality page.',
        ]
    else:
        lines += [
            "`best baseline`: the best non-oracle baseline of `benchmarks/quality.py` on the",
            "same data and seeds.",
        ]
    if kind == "issue-18":
        lines += [
            '`default` is the defaults of their time, `class_weight="trusted"`',
            "(the default until the class-weight scenarios; each variant changes one setting",
            "of those), the quality page's `l2rw` when they were measured.",
        ]
    if kind == "class-weight":
        lines += [
            "`class_weight=None` is today's default (the quality page's `l2rw`);",
            '`class_weight="trusted"` the default before (the same fits as the quality',
            "page's `l2rw` then); both with the selection round. The `imb-synth-*` rows (pure",
            "imbalance, balanced test sets) are in balanced accuracy.",
            "",
        ]
    else:
        lines += [
            "`default` includes the selection round and its fallback; `fallback=None` is the",
            "reweighted fit alone, and every variant after `fallback=plain` changes that fit",
            "(with `fallback=None`).",
            "",
        ]
    columns = ([] if earlier else ["best baseline"]) + [f"`{v}`" for v in variants]
    lines += [
        "| scenario | " + " | ".join(columns) + " |",
        "|---" * (len(columns) + 1) + "|",
    ]
    for name, row in results.items():
        cells = [f"{np.mean(row[v]):.3f}" for v in variants]
        if not earlier:
            best = _best_baseline(name)
            cells.insert(0, "—" if best is None else f"{best[1]:.3f} ({best[0]})")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


VARIANT_RESULTS = quality.RESULTS / "variants"
# Issue 18's ablation: its own results, so that the earlier ablation's page
# (docs/benchmarks/ablation.md, measured with the earlier defaults) stands.
ISSUE18_RESULTS = quality.RESULTS / "variants-issue-18"
# The page of each: docs/benchmarks/ablation.md (issue 18's) and ablation_earlier.md.


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--scenarios", default="digits-uniform-40", help="comma-separated, or 'all'"
    )
    parser.add_argument("--variants", default=",".join(VARIANTS))
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument(
        "--out",
        type=Path,
        help="also save the scores (benchmarks/results/variants/<scenario>.json) and write "
        "a wide Markdown table of every saved score of these scenarios and variants here",
    )
    parser.add_argument(
        "--assemble-only", action="store_true", help="with --out: table from saved scores"
    )
    parser.add_argument("--command", help="command line to print at the top of the table")
    parser.add_argument(
        "--kind",
        choices=PAGE_KINDS,
        help="the page --out writes (default: earlier for benchmarks/results/variants, "
        "else issue-18)",
    )
    parser.add_argument(
        "--results",
        type=Path,
        default=VARIANT_RESULTS,
        help="where the scores are saved (default benchmarks/results/variants; issue 18's "
        "ablation: benchmarks/results/variants-issue-18)",
    )
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    warnings.filterwarnings("ignore", category=UserWarning)
    specs = quality.scenarios()
    names = list(specs) if args.scenarios == "all" else args.scenarios.split(",")
    variants = args.variants.split(",")
    unknown = sorted(set(names) - set(specs)) + sorted(set(variants) - set(VARIANTS))
    if unknown:
        parser.error(f"unknown scenarios or variants: {unknown}")
    if args.assemble_only and not args.out:
        parser.error("--assemble-only needs --out")
    print("| scenario | variant | mean | per seed |\n|---|---|---|---|")
    for name in [] if args.assemble_only else names:
        path = args.results / f"{name}.json"
        saved = json.loads(path.read_text()) if path.exists() else {}
        for variant in variants:
            accs = _saved_default(name, args.seeds) if variant == "default" else None
            if accs is None:
                accs = [score(name, specs[name], variant, s) for s in range(args.seeds)]
            saved[variant] = accs
            per_seed = " ".join(f"{a:.3f}" for a in accs)
            print(f"| {name} | {variant} | {np.mean(accs):.4f} | {per_seed} |", flush=True)
        if args.out:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(saved, indent=1))
    if args.out:
        results = {}
        for name in names:
            path = args.results / f"{name}.json"
            saved = json.loads(path.read_text()) if path.exists() else {}
            if all(v in saved for v in variants):
                results[name] = saved
        command = args.command or "python benchmarks/quality_variants.py " + " ".join(
            f'"{a}"' if " " in a or "(" in a else a for a in sys.argv[1:]
        )
        kind = args.kind or ("earlier" if args.results == VARIANT_RESULTS else "issue-18")
        args.out.write_text(wide_table(results, variants, command, kind=kind))


if __name__ == "__main__":
    main()

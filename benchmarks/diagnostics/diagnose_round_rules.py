"""Which rule should the selection round read its held-back curves by?

The round (``sk_l2rw._selection``) fits, per fold, the reweighted fit, a plain
net (for Gold Loss Correction's ``C``) and GLC, and scores the held-back fold
after every epoch. This script replays other rules over the same curves,
without refitting the round: for each seed of a quality-benchmark scenario it
fits the defaults once, keeps the round's folds, and for every rule whose
choice (kind, stopping epoch) differs from the defaults' refits the final fit
alone with that choice (the round runs in a forked random generator, so the
final fit draws as in a full fit). Rules:

- ``default``: the library's (``_selection.choose``): GLC when ahead of the
  reweighted fit at the end by more than 1 standard error (SE) of the paired
  difference; the kept kind stopped at its best held-back epoch when that
  leads its last by more than 2 SE;
- ``no-stop``: the kept kind to its end (the rule before the stopping epoch);
- ``plain-kind``: the default, then the plain kind (a plain net stopped at
  the plain net's best epoch) when that is ahead of the kept kind where it
  stops by more than 1 SE; ``plain-kind-stop-2``: the plain kind stopped at
  its best epoch only when that leads its last by more than 2 SE;
- ``prefer-plain``: as ``plain-kind-stop-2``, but the plain kind unless the
  kept kind is ahead of it by more than 1 SE (plain training is what the
  issue's "never worse" bar is judged against).

A plain kind's final fit is the library's ``fallback="plain"`` final fit
(a fresh plain net) stopped at that epoch.

It prints per seed each rule's choice and test accuracy, then per scenario
each rule's mean, its paired difference to the best non-oracle baseline and
to ``plain`` (saved quality results) with issue 18's verdict, and a count per
rule: scenarios met (wins and ties) and below plain. ``--tally FILE ...``
prints that count for the scenario lines of saved outputs (runs in parts).

Usage::

    python benchmarks/diagnostics/diagnose_round_rules.py \\
        --scenarios risk-moons-uniform-30 --seeds 5
    python benchmarks/diagnostics/diagnose_round_rules.py \\
        --tally benchmarks/results/diagnose_round_rules.txt
"""

import re
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the shared benchmark modules
import quality  # noqa: E402

from sk_l2rw import MetaReweightClassifier, _selection  # noqa: E402


def _kept_and_stop(folds, w):
    """The default's kept kind (before the plain kind) and its stopping index."""
    scores = {
        k: np.concatenate([f.holdout_scores_[k] for f in folds]) for k in ("reweighted", "fallback")
    }
    kept = "reweighted"
    if _selection.ahead(
        *_selection.paired_difference(scores["fallback"] - scores["reweighted"], w)
    ):
        kept = "fallback"
    curves = {k: _selection.pooled_curve(folds, k) for k in folds[0].holdout_curves_}
    stop, _, _ = _selection.best_epoch(curves[kept], w, _selection.STOP_GUARD)
    return kept, stop, curves


def _as_choice(kind, index, curves):
    """``(kind, stop_epoch)``: None when the index is the curve's last epoch."""
    return kind, (index + 1 if index < len(curves[kind]) - 1 else None)


def _weights(folds):
    w = np.concatenate([f.holdout_scores_["weight"] for f in folds])
    return w / w.sum()


def _rule(prefer_plain=False, plain_stop_guard=None, stop=True, guard=1.0, with_plain=True):
    """A rule: the default's kept kind (stopped at its best held-back epoch
    when ``stop``), then the plain kind stopped at its best epoch (when that
    leads its last by more than ``plain_stop_guard`` SE, if given). The plain kind is
    chosen when ahead of the kept kind by more than ``guard`` SE, or with
    ``prefer_plain`` unless the kept kind is ahead of it by more than that."""

    def rule(folds):
        w = _weights(folds)
        kept, kept_stop, curves = _kept_and_stop(folds, w)
        if not stop:
            kept_stop = len(curves[kept]) - 1
        if not with_plain:
            return _as_choice(kept, kept_stop, curves)
        plain = curves["plain"]
        if plain_stop_guard is None:  # the library's: its best epoch, whatever the lead
            plain_stop = int(np.argmax(plain @ w))
        else:
            plain_stop, _, _ = _selection.best_epoch(plain, w, plain_stop_guard)
        lead = _selection.paired_difference(plain[plain_stop] - curves[kept][kept_stop], w)
        if prefer_plain:
            keep_plain = not _selection.ahead(-lead[0], lead[1], guard=guard)
        else:
            keep_plain = _selection.ahead(*lead, guard=guard)
        if keep_plain:
            return _as_choice("plain", plain_stop, curves)
        return _as_choice(kept, kept_stop, curves)

    return rule


RULES = {
    "default": _rule(with_plain=False),
    "no-stop": _rule(stop=False, with_plain=False),
    "plain-kind": _rule(),
    "plain-kind-stop-2": _rule(plain_stop_guard=2.0),
    "prefer-plain": _rule(prefer_plain=True, plain_stop_guard=2.0),
}


class _Replaying(MetaReweightClassifier):
    """The defaults, keeping the round's folds; or, with ``cached`` and
    ``forced``, the final fit alone over those folds with that choice."""

    cached = None
    forced = None

    def _selection_round(self, *args, **kwargs):
        if self.cached is not None:
            return self.cached
        self.folds_ = super()._selection_round(*args, **kwargs)
        return self.folds_

    def _fallback_plan(self, continued):
        if self.forced is not None and self.forced[0] == "plain":
            return "plain"  # the final fit of a plain kind: the plain fallback's
        return super()._fallback_plan(continued)

    def _choose(self, folds):
        selected, selection = super()._choose(folds)
        if self.forced is None:
            return selected, selection
        kind, stop = self.forced
        return ("fallback" if kind == "plain" else kind), {**selection, "stop_epoch": stop}


def run_seed(spec, seed):
    X_tr, _, y_fit, trusted, X_te, y_te, metric = quality.scenario_data(spec, seed)
    X_tr = np.asarray(X_tr, dtype=np.float32)
    clf = _Replaying(random_state=seed).fit(X_tr, y_fit, clean_mask=trusted)
    folds = clf.folds_
    done = {(clf.selected_, clf.selection_["stop_epoch"]): float(metric(y_te, clf.predict(X_te)))}
    choices, accs = {}, {}
    for name, rule in RULES.items():
        choice = rule(folds)
        if choice not in done:
            replay = _Replaying(random_state=seed)
            replay.cached, replay.forced = folds, choice
            replay.fit(X_tr, y_fit, clean_mask=trusted)
            done[choice] = float(metric(y_te, replay.predict(X_te)))
        choices[name], accs[name] = choice, done[choice]
    return choices, accs


def tally(lines):
    """Per rule, over the scenario lines among ``lines``: scenarios met
    (wins, ties), the ones lost, and the ones below plain by more than 1 SE."""
    counts = {}
    for line in lines:
        match = re.match(r"(\S+) \[\w+\]: best baseline \S+ [\d.]+; (.*)$", line)
        if not match:
            continue
        for part in match.group(2).split("; "):
            rule = part.split(" ", 1)[0]
            verdict, harm = re.findall(r"\) (win|tie|lost|harm|ok)", part)
            entry = counts.setdefault(rule, {"win": 0, "tie": 0, "lost": [], "harm": []})
            if verdict == "lost":
                entry["lost"].append(match.group(1))
            else:
                entry[verdict] += 1
            if harm == "harm":
                entry["harm"].append(match.group(1))
    return [
        f"{rule}: met {c['win'] + c['tie']} of {c['win'] + c['tie'] + len(c['lost'])} "
        f"({c['win']} wins, {c['tie']} ties); lost: {', '.join(c['lost']) or 'none'}; "
        f"below plain by more than 1 SE: {', '.join(c['harm']) or 'none'}"
        for rule, c in counts.items()
    ]


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["--tally"]:
        for line in tally(sum((Path(f).read_text().splitlines() for f in argv[1:]), [])):
            print(line)
        return
    args, specs = quality.scenario_cli(__doc__, argv, seeds=5)
    lines = []
    for name in args.scenarios.split(","):
        runs, best = quality.saved_runs(name, args.seeds)
        accs = {rule: [] for rule in RULES}
        for seed in range(len(runs)):
            choices, acc = run_seed(specs[name], seed)
            for rule in RULES:
                accs[rule].append(acc[rule])
            print(
                f"{name} seed {seed}: "
                + ", ".join(f"{r} {k}/{s} {acc[r]:.4f}" for r, (k, s) in choices.items()),
                flush=True,
            )
        figures = [
            f"{rule} {quality.saved_verdicts(values, runs, best)[0]}"
            for rule, values in accs.items()
        ]
        lines.append(
            f"{name} [{specs[name]['group']}]: best baseline {best} "
            f"{np.mean([r['acc'][best] for r in runs]):.4f}; " + "; ".join(figures)
        )
        print(lines[-1], flush=True)
    for line in tally(lines):
        print(line)


if __name__ == "__main__":
    main()

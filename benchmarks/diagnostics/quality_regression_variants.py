"""Candidate defaults of MetaReweightRegressor, on the regression benchmark's data.

How the regressor's refinement rule and per-row record were chosen: each
variant changes the rule for the rows the refinement keeps (``_keep``), whether
the warm-up epochs count in the per-row record (``_record_warmup``), the loss
or the phases, and is scored (RMSE on clean test targets) on the same data and
seeds as ``quality_regression.py``'s ``l2rw``. Variants:

- ``mad3`` / ``mad2``: keep residuals up to the median + 3 (2) robust standard
  deviations over the training rows;
- ``q``: keep residuals up to 1.5 times the trusted rows' 95th percentile (the
  default); ``q2`` / ``q3``: 2 and 3 times;
- ``allrec``: the record over warm-up and meta epochs (default: meta only);
- ``w.2r.3``: 20 % warm-up, 30 % refinement epochs (default 35 % / 50 %);
- ``squared``: ``loss="squared_error"`` (default ``"huber"``);
- ``late-half`` / ``skip5``: the record over the second half of the meta
  epochs only, or without the first 5 (with no warm-up, the early meta
  epochs' residuals are a random start's);
- ``w<k>``: ``warmup_epochs=k`` (after issue 18: the default ``"auto"`` is 0
  for the regressor; ``w17`` is the earlier default, the classifier's).

Usage::

    python benchmarks/diagnostics/quality_regression_variants.py --seeds 3
    python benchmarks/diagnostics/quality_regression_variants.py \\
        --scenarios friedman-shift-40 --seeds 3

It prints, per scenario, the mean RMSE of each variant and of the best
non-oracle baseline saved by ``quality_regression.py``, then each variant's
geometric mean ratio to that baseline and how many scenarios it meets by
issue 18's paired rule (as ``quality_regression.py``'s page).
"""

import argparse
import json
import sys
import warnings
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the shared benchmark modules
import quality_regression as qr  # noqa: E402
from quality import paired_stats  # noqa: E402

from sk_l2rw import MetaReweightRegressor, MetaReweightRegressorNet  # noqa: E402
from sk_l2rw._net import trusted_keep  # noqa: E402


def _mad_keep(n_mads):
    def keep(net, records):
        r = -records
        med = np.median(r)
        return r <= med + n_mads * 1.4826 * np.median(np.abs(r - med))

    return keep


def _q_keep(net, records, factor=1.5):
    r = -records
    return trusted_keep(r, r[net.trusted_rows_], factor)


def _q_factor(factor):
    return lambda net, records: _q_keep(net, records, factor)


PHASES = {"warmup_epochs": 10, "refine_epochs": 15}  # of the default 50 epochs


def _late_records(skip):
    """A ``_records`` rule: the meta epochs after the first ``skip(n_meta)`` of them."""

    plain = MetaReweightRegressorNet._records

    def records(net, phase):
        if phase != "meta":
            return plain(net, phase)
        meta_epoch = len(net.history) - 1 - net.first_epoch_ - net.warmup_epochs
        n_meta = net.max_epochs - net.warmup_epochs - net.refine_epochs
        return meta_epoch >= min(skip(n_meta), n_meta - 1)

    return records


# name: (estimator parameters, record the warm-up too, keep rule)
VARIANTS = {
    "q (default)": ({}, False, _q_keep),
    "q2": ({}, False, _q_factor(2.0)),
    "q3": ({}, False, _q_factor(3.0)),
    "q-allrec": ({}, True, _q_keep),
    "mad3-allrec": ({}, True, _mad_keep(3)),
    "mad2-allrec": ({}, True, _mad_keep(2)),
    "mad3": ({}, False, _mad_keep(3)),
    "q-w.2r.3": (PHASES, False, _q_keep),
    "squared-q": ({"loss": "squared_error"}, False, _q_keep),
    "squared-mad3-allrec": ({"loss": "squared_error"}, True, _mad_keep(3)),
    **{f"w{k}": ({"warmup_epochs": k}, False, _q_keep) for k in (0, 1, 2, 3, 5, 8, 17)},
    "late-half": ({}, False, _q_keep, _late_records(lambda n: n // 2)),
    "skip5": ({}, False, _q_keep, _late_records(lambda n: 5)),
}


def score(spec, seed, params, record_warmup, keep, records=None):
    X_tr, _, y_fit, trusted, _, X_te, y_te = qr.scenario_data(spec, seed)
    net = MetaReweightRegressorNet
    saved = net._record_warmup, net._keep, net._records
    net._record_warmup, net._keep = record_warmup, keep
    net._records = net._records if records is None else records
    try:
        model = MetaReweightRegressor(random_state=seed, **params)
        model.fit(X_tr, y_fit, clean_mask=trusted)
    finally:
        net._record_warmup, net._keep, net._records = saved
    return qr.rmse(model.predict(X_te), y_te)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scenarios", help="comma-separated (default: the development ones)")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--variants", help="comma-separated (default: all)")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    warnings.filterwarnings("ignore", category=UserWarning)
    specs = qr.scenarios()
    names = (
        args.scenarios.split(",")
        if args.scenarios
        else [n for n in specs if not n.startswith("heldout")]
    )
    variants = args.variants.split(",") if args.variants else list(VARIANTS)
    unknown = sorted(set(variants) - set(VARIANTS))
    if unknown:
        parser.error(f"unknown variants {unknown}; choose from {list(VARIANTS)}")
    ratios = {v: [] for v in variants}
    met = {v: [] for v in variants}
    print("| scenario | best baseline | " + " | ".join(variants) + " |")
    print("|---" * (len(variants) + 2) + "|")
    for name in names:
        rmses = {
            v: [score(specs[name], s, *VARIANTS[v]) for s in range(args.seeds)] for v in variants
        }
        means = {v: np.mean(r) for v, r in rmses.items()}
        path = qr.RESULTS / f"{name}.json"
        best = None
        if path.exists():
            runs = json.loads(path.read_text())["runs"]
            best = qr.best_baseline(runs)
            baseline = [run["rmse"][best[0]] for run in runs[: args.seeds]]
            for v, m in means.items():
                ratios[v].append(m / best[1])
                mean, se = paired_stats(np.subtract(rmses[v], baseline))
                met[v].append(qr.verdict(mean, se))
        cell = "—" if best is None else f"{best[1]:.3f} ({best[0]})"
        print(f"| {name} | {cell} | " + " | ".join(f"{m:.3f}" for m in means.values()) + " |")
    for v, r in ratios.items():
        if r:
            geo = float(np.exp(np.mean(np.log(r))))
            wins = sum(x <= 1 for x in r)
            counts = {k: met[v].count(k) for k in ("win", "tie")}
            print(
                f"{v}: geometric mean RMSE / best baseline {geo:.3f}, at most it in {wins}; "
                f"met {counts['win'] + counts['tie']} of {len(r)} "
                f"({counts['win']} wins, {counts['tie']} ties)"
            )


if __name__ == "__main__":
    main()

"""What does meta-reweighting cost? Fit time against plain skorch, side by side.

Per ../shared/BENCHMARKS.md: the same module, data, batch size and epochs;
``torch.set_num_threads(1)``; fits measured alternately in one run, median of
``--repeats``; ratios MetaReweightClassifier / skorch NeuralNetClassifier, with
the paper's double-backward recipe (``meta_method="recipe"``) on the same net as
the reference row. A second table times the bare steps in pure torch (no data
loading), a third gives the peak memory above the data, per fit, measured
in a fresh process, and the last what ``ReweightedClassifier`` costs on top of
gradient-boosted trees, on one job and on three.

Run (about 40 minutes on one core)::

    python benchmarks/speed.py --out docs/benchmarks/speed.md

``--quick`` runs a small version in about a minute.
"""

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from contextlib import contextmanager, nullcontext

import numpy as np
import torch
from sklearn.ensemble import HistGradientBoostingClassifier
from skorch import NeuralNetClassifier
from threadpoolctl import threadpool_limits
from torch import nn

from sk_l2rw import MLP, MetaReweightClassifier, ReweightedClassifier
from sk_l2rw._base import auto_epochs
from sk_l2rw._meta import meta_step

N_FEATURES, N_CLASSES, TRUSTED_PER_CLASS, BATCH = 20, 10, 10, 128
# Where every fit runs (--device); the GPU section's sizes are its own.
DEVICE = "cpu"
NETS = {"default MLP (100,)": (100,), "wide MLP (1024, 1024)": (1024, 1024)}
# The default fit's section (issue 18's bar: at most 2.0x at 20k rows).
DEFAULT_NETS = {"default MLP (100, 100)": (100, 100), "MLP (512, 512)": (512, 512)}


@contextmanager
def timed(cls, name, seconds):
    """Append to ``seconds`` the time each call of ``cls.name`` takes while active."""
    original = getattr(cls, name)

    def wrapper(*args, **kwargs):
        start = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            seconds.append(time.perf_counter() - start)

    setattr(cls, name, wrapper)
    try:
        yield seconds
    finally:
        setattr(cls, name, original)


def make_data(n, seed=0):
    """Gaussian features, labels from a random linear teacher; plus a trusted set."""
    rng = np.random.RandomState(seed)
    teacher = rng.randn(N_FEATURES, N_CLASSES)
    X = rng.randn(n, N_FEATURES).astype(np.float32)
    y = np.argmax(X @ teacher + rng.randn(n, N_CLASSES), axis=1)
    Xc = rng.randn(N_CLASSES * 50, N_FEATURES).astype(np.float32)
    yc = np.argmax(Xc @ teacher, axis=1)
    pick = np.concatenate([np.flatnonzero(yc == k)[:TRUSTED_PER_CLASS] for k in range(N_CLASSES)])
    return X, y, Xc[pick], yc[pick]


def fit_plain(hidden, X, y, Xc, yc):
    torch.manual_seed(0)
    return NeuralNetClassifier(
        MLP(N_FEATURES, N_CLASSES, hidden),
        criterion=nn.CrossEntropyLoss,
        optimizer=torch.optim.Adam,
        lr=1e-3,
        max_epochs=1,
        batch_size=BATCH,
        train_split=None,
        iterator_train__shuffle=True,
        device=DEVICE,
        verbose=0,
    ).fit(X, y)


def fit_meta(hidden, X, y, Xc, yc, method="auto"):
    return MetaReweightClassifier(
        hidden_layer_sizes=hidden,
        max_epochs=1,
        batch_size=BATCH,
        lr=1e-3,
        train_on_clean=False,
        warmup_epochs=0,  # the meta epochs alone: the cost this benchmark is about
        refine_epochs=0,
        meta_method=method,
        device=DEVICE,
        random_state=0,
    ).fit(X, y, clean_val=(Xc, yc))


def fit_plain_epochs(hidden, X, y, Xc, yc, epochs):
    if epochs == "auto":  # the library's budget rule, for the same rows
        epochs = auto_epochs(len(y) + len(yc), BATCH)
    torch.manual_seed(0)
    return NeuralNetClassifier(
        MLP(N_FEATURES, N_CLASSES, hidden),
        criterion=nn.CrossEntropyLoss,
        optimizer=torch.optim.Adam,
        lr=1e-3,
        max_epochs=epochs,
        batch_size=BATCH,
        train_split=None,
        iterator_train__shuffle=True,
        device=DEVICE,
        verbose=0,
    ).fit(np.concatenate([X, Xc]), np.concatenate([y, yc]))


def fit_default(hidden, X, y, Xc, yc, epochs, **params):
    """A default fit (selection round, then every phase of the final fit), the
    trusted rows trained on as by default."""
    return MetaReweightClassifier(
        hidden_layer_sizes=hidden,
        max_epochs=epochs,
        batch_size=BATCH,
        device=DEVICE,
        random_state=0,
        **params,
    ).fit(X, y, clean_val=(Xc, yc))


def fit_reweighted(hidden, X, y, Xc, yc, epochs):
    """The reweighted fit alone (``fallback=None``: no selection round)."""
    return fit_default(hidden, X, y, Xc, yc, epochs, fallback=None)


def time_default_fits(hidden, n, epochs, repeats):
    """A default fit against plain skorch on the same rows (the trusted ones too)."""
    data = make_data(n)
    kinds = (("plain", fit_plain_epochs), ("default", fit_default), ("reweighted", fit_reweighted))
    times = {kind: [] for kind, _ in kinds}
    with timed(MetaReweightClassifier, "_selection_round", []) as rounds:
        for _ in range(repeats):
            for kind, fit in kinds:
                start = time.perf_counter()
                out = fit(hidden, *data, epochs)
                times[kind].append(time.perf_counter() - start)
                if kind == "default":
                    selected, used = out.selected_, out.max_epochs_
    medians = {k: statistics.median(t) for k, t in times.items()}
    # The default fit's selection round, apart (one per default fit).
    medians["round"] = statistics.median(rounds)
    return {**medians, "selected": selected, "epochs_used": used}


def _trees():
    return HistGradientBoostingClassifier(random_state=0)


def time_carry_fits(n, epochs, repeats):
    """``ReweightedClassifier(trees)`` with its defaults, on one job and on
    three (the check's two fold fits and the reweighter on every row side by
    side, in joblib's worker processes, reused from one fit to the next),
    against the trees alone and the default reweighter alone; every process
    on one thread (trees through threadpoolctl, the workers by joblib)."""
    X, y, Xc, yc = make_data(n)
    X_all, y_all = np.r_[X, Xc], np.r_[y, yc]

    def reweighter():
        return MetaReweightClassifier(max_epochs=epochs, batch_size=BATCH, random_state=0)

    def carried(n_jobs):
        return ReweightedClassifier(
            _trees(), reweighter=reweighter(), n_jobs=n_jobs, random_state=0
        ).fit(X, y, clean_val=(Xc, yc))

    kinds = {
        "trees": lambda: _trees().fit(X_all, y_all),
        "reweighter": lambda: reweighter().fit(X, y, clean_val=(Xc, yc)),
        "carried": lambda: carried(None),
        "carried_jobs3": lambda: carried(3),
    }
    times = {kind: [] for kind in kinds}
    fitted = {}
    checks = []
    with threadpool_limits(1):
        for _ in range(repeats):
            for kind, fit in kinds.items():
                # One job: the check's two folds run in this process, timed
                # apart (the workers of n_jobs=3 get the method as it is).
                spy, folds = kind == "carried", []
                with timed(ReweightedClassifier, "_check_fold", folds) if spy else nullcontext():
                    start = time.perf_counter()
                    fitted[kind] = fit()
                    times[kind].append(time.perf_counter() - start)
                if spy:
                    checks.append(sum(folds))
    one, three = fitted["carried"], fitted["carried_jobs3"]
    medians = {k: statistics.median(t) for k, t in times.items()}
    medians["check"] = statistics.median(checks)
    return {
        **medians,
        "carry": one.carry_,
        "epochs_used": one.reweighter_.max_epochs_,
        "same": bool(one.carry_ == three.carry_ and (one.predict(X) == three.predict(X)).all()),
        "cores": os.cpu_count(),
    }


FITS = {
    "plain": fit_plain,
    "meta": fit_meta,
    "recipe": lambda *a: fit_meta(*a, method="recipe"),
}


def time_fits(hidden, n, repeats, methods):
    data = make_data(n)
    times = {m: [] for m in methods}
    for _ in range(repeats):
        for m in methods:  # alternate, so drifts in machine load hit every method
            start = time.perf_counter()
            FITS[m](hidden, *data)
            times[m].append(time.perf_counter() - start)
    return {m: statistics.median(t) for m, t in times.items()}


def _step_times(hidden, X, y, repeats, steps, metas):
    """Median seconds per step in pure torch on one MLP, alternating: a plain
    step, and a meta step for each ``metas[key] = (method, Xc, yc)``."""
    module = MLP(N_FEATURES, N_CLASSES, hidden)
    opt = torch.optim.Adam(module.parameters(), lr=1e-3)

    def plain(x, t):
        nn.functional.cross_entropy(module(x), t).backward()

    def meta(method, xc, yc):
        return lambda x, t: meta_step(module, x, t, xc, yc, method=method)

    kinds = {"plain": plain, **{k: meta(*args) for k, args in metas.items()}}
    times = {k: [] for k in kinds}
    for _ in range(repeats):
        for k, fn in kinds.items():
            start = time.perf_counter()
            for i in range(steps):
                opt.zero_grad()
                fn(X[i * BATCH : (i + 1) * BATCH], y[i * BATCH : (i + 1) * BATCH])
                opt.step()
            times[k].append((time.perf_counter() - start) / steps)
    return {k: statistics.median(t) for k, t in times.items()}


def time_steps(hidden, repeats, steps=100):
    """Bare steps in pure torch: plain step vs each meta method, n=128, m=100."""
    X, y, Xc, yc = (torch.as_tensor(a) for a in make_data(BATCH * steps))
    metas = {m: (m, Xc, yc) for m in ("fast", "general", "recipe")}
    return _step_times(hidden, X, y, repeats, steps, metas)


def _sweep_net(hidden, sizes, X, y, repeats, steps):
    rng = np.random.RandomState(1)
    metas = {m: ("fast", X[rng.choice(len(X), m)], y[rng.choice(len(X), m)]) for m in sizes}
    return _step_times(hidden, X, y, repeats, steps, metas)


def trusted_sweep(repeats, sizes=(10, 25, 50, 100, 128, 256), steps=50):
    """Fast-path step time against a plain step as the trusted minibatch m grows."""
    X, y, _, _ = (torch.as_tensor(a) for a in make_data(BATCH * steps))
    rows = []
    for net, hidden in NETS.items():
        times = _sweep_net(hidden, sizes, X, y, repeats, steps)
        for m in sizes:
            ratio = times[m] / times["plain"]
            rows.append({"net": net, "m": m, "ratio": ratio, "flops": 1 + 2 * m / (3 * BATCH)})
            print(rows[-1], flush=True)
    lines = [
        "# Speed against the trusted minibatch size",
        "",
        "Generated by `python benchmarks/speed.py --trusted-sweep "
        "--out docs/benchmarks/speed_trusted_batch.md`:",
        f"the fast path's step time over a plain step (pure torch, batch n = {BATCH}, Adam,",
        f"1 thread, median of {repeats}), for m trusted rows per step. Flop count of the",
        "fused form: forward and input-gradient backward over n + m rows plus the weight",
        "gradient over n rows, against 3n for a plain step: (3n + 2m) / 3n (the per-row",
        "scores add n m (d_in + d_out) per layer). On the small MLP, per-call overhead,",
        "not flops, dominates.",
        "",
        "| net | m | measured ratio | flop count |",
        "|---|---:|---:|---:|",
    ]
    lines += [f"| {r['net']} | {r['m']} | {r['ratio']:.2f}x | {r['flops']:.2f}x |" for r in rows]
    return "\n".join(lines) + "\n"


def peak_memory(hidden, n, method):
    """Peak resident memory above the data, in MiB, of one fit in a fresh process.

    The peak (VmHWM) is reset after the data are made (Linux ``clear_refs``),
    so the figure is what the fit itself adds at its peak.
    """
    code = f"""
import torch, sys
torch.set_num_threads(1)
sys.path.insert(0, "benchmarks")
import speed
data = speed.make_data({n})
def status(key):
    for line in open("/proc/self/status"):
        if line.startswith(key):
            return int(line.split()[1]) / 1024
with open("/proc/self/clear_refs", "w") as f:
    f.write("5")
base = status("VmRSS:")
speed.FITS[{method!r}]({hidden!r}, *data)
print(status("VmHWM:") - base)
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return float(out.stdout.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, 3 repeats")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--out", help="write the Markdown tables here")
    parser.add_argument("--json", help="write the raw figures here")
    parser.add_argument(
        "--sections",
        default="default,fits,steps,memory,carry",
        help="comma-separated sections to measure; the others are read from --json "
        "(e.g. --sections memory --json benchmarks/results/speed.json re-measures memory only)",
    )
    parser.add_argument(
        "--trusted-sweep", action="store_true", help="only the trusted-minibatch-size sweep"
    )
    parser.add_argument(
        "--device",
        default="cpu",
        help="where the fits run (cuda: the GPU section, --sections gpu; "
        "the figures go to the same JSON file under 'gpu')",
    )
    args = parser.parse_args()
    global DEVICE
    DEVICE = args.device
    torch.set_num_threads(1)
    if args.trusted_sweep:
        text = trusted_sweep(args.repeats)
        print(text)
        if args.out:
            with open(args.out, "w") as f:
                f.write(text)
        return
    repeats = 3 if args.quick else args.repeats
    # (net, n, methods): the recipe only where it stays affordable.
    if args.quick:
        plan = [("default MLP (100,)", 10_000, ["plain", "meta", "recipe"])]
        default_plan = [("default MLP (100, 100)", 2_000, 4)]
        mem_plan = [("default MLP (100,)", n) for n in (10_000, 40_000)]
        carry_plan = [(2_000, 4)]
    else:
        plan = [
            ("default MLP (100,)", 10_000, ["plain", "meta", "recipe"]),
            ("default MLP (100,)", 100_000, ["plain", "meta", "recipe"]),
            ("default MLP (100,)", 1_000_000, ["plain", "meta"]),
            ("wide MLP (1024, 1024)", 10_000, ["plain", "meta", "recipe"]),
            ("wide MLP (1024, 1024)", 100_000, ["plain", "meta"]),
        ]
        mem_plan = [("default MLP (100,)", n) for n in (10_000, 100_000, 1_000_000)]
        carry_plan = [(2_000, "auto"), (20_000, "auto")]

    if not args.quick:
        # Every default (the "auto" budget too, given to both fits), and the
        # wider module at 20k rows with 10 epochs.
        default_plan = [("default MLP (100, 100)", n, "auto") for n in (300, 2_000, 5_000, 20_000)]
        default_plan += [("MLP (512, 512)", 20_000, 10)]
    # On a GPU: where it matters, a wide module and 100k to 1M rows.
    gpu_plan = [(100_000, 5, ["plain", "meta"]), (1_000_000, None, ["plain", "meta"])]
    if args.quick:
        gpu_plan = [(5_000, 2, ["plain", "meta"])]
    sections = set(args.sections.split(",")) - {""}
    if "gpu" in sections and args.device == "cpu":
        parser.error("--sections gpu measures on a GPU: give --device cuda")
    results = {"default": [], "fits": [], "steps": {}, "memory": [], "carry": [], "gpu": {}}
    if sections != set(results):
        with open(args.json) as f:  # the sections not re-measured now
            results = {**results, **json.load(f)}
    if "default" in sections:
        results["default"] = []
        for net, n, epochs in default_plan:
            t = time_default_fits(DEFAULT_NETS[net], n, epochs, repeats)
            results["default"].append({"net": net, "n": n, "epochs": epochs, **t})
            print(net, n, epochs, t, flush=True)
    if "fits" in sections:
        results["fits"] = []
        for net, n, methods in plan:
            t = time_fits(NETS[net], n, repeats, methods)
            results["fits"].append({"net": net, "n": n, **t})
            print(net, n, {k: round(v, 3) for k, v in t.items()}, flush=True)
    if "steps" in sections:
        for net, hidden in NETS.items():
            results["steps"][net] = time_steps(hidden, repeats)
            print(net, results["steps"][net], flush=True)
    if "memory" in sections:
        results["memory"] = []
        for net, n in mem_plan:
            row = {"net": net, "n": n}
            row.update({m: peak_memory(NETS[net], n, m) for m in ("plain", "meta")})
            results["memory"].append(row)
            print(row, flush=True)

    if "gpu" in sections:
        results["gpu"] = {"device": torch.cuda.get_device_name(DEVICE), "rows": []}
        hidden = NETS["wide MLP (1024, 1024)"]
        for n, epochs, methods in gpu_plan:
            row = {"n": n, **time_fits(hidden, n, repeats, methods)}
            if epochs is not None:
                t = time_default_fits(hidden, n, epochs, repeats)
                row.update(epochs=epochs, default_plain=t["plain"], default=t["default"])
                row.update(round=t["round"], selected=t["selected"])
            results["gpu"]["rows"].append(row)
            print("gpu", row, flush=True)

    if "carry" in sections:
        results["carry"] = []
        for n, epochs in carry_plan:
            t = time_carry_fits(n, epochs, repeats)
            results["carry"].append({"n": n, "epochs": epochs, **t})
            print("carry", n, epochs, t, flush=True)

    text = render(results, repeats, args.quick, sections)
    print(text)
    if args.out:
        with open(args.out, "w") as f:
            f.write(text)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=2)


def _round(row):
    if "round" not in row:
        return "—"
    return f"{row['round']:.2f} ({row['round'] / row['default']:.0%})"


def _epochs(row):
    if row["epochs"] == "auto":
        return f"auto ({row['epochs_used']})"
    return str(row["epochs"])


def render(results, repeats, quick, sections=("default", "fits", "steps", "memory", "carry")):
    all_sections = {"default", "fits", "steps", "memory", "carry"}
    sections = set(sections) - {"gpu"}  # measured on another machine, with --device
    cmd = (
        "python benchmarks/speed.py"
        + (" --quick" if quick else "")
        + ("" if set(sections) == all_sections else f" --sections {','.join(sorted(sections))}")
        + ("" if quick or repeats == 5 else f" --repeats {repeats}")
        + " --json benchmarks/results/speed.json --out docs/benchmarks/speed.md"
    )
    lines = [
        "# Speed",
        "",
        f"Generated by `{cmd}` on {platform.machine()}, torch {torch.__version__},",
        f"1 thread, median of {repeats} alternating runs, batch {BATCH}, Adam,",
        f"{N_FEATURES} features, {N_CLASSES} classes, {N_CLASSES * TRUSTED_PER_CLASS} trusted rows",
        "(used whole at every step).",
        "",
        f"Sections measured by the last run: {', '.join(sorted(sections)) or 'none'}; any other "
        "section was "
        "read from the JSON file, as measured by an earlier run of the same script.",
        "",
        "## A default fit against a plain skorch fit with the same max_epochs",
        "",
        "MetaReweightClassifier with its defaults (a 2-fold selection round on at most 4,000",
        "untrusted rows: per fold the reweighted fit, a plain net on the fold's untrusted rows",
        "for Gold Loss Correction's C and the corrected net; then the final fit: `max_epochs`",
        "split into 35 % warm-up, meta and 50 % refinement epochs, or the corrected net; the",
        "trusted rows trained on), and the reweighted fit alone (`fallback=None`), against",
        "skorch's NeuralNetClassifier on the same rows for the same `max_epochs` (`auto`: the",
        "library's budget rule, the same for both). `round`: the default fit's selection",
        "round alone, its share of the default fit in brackets. `kept`: the kind the default",
        "fit's final fit was. The bar: a default fit at most 2.0x the plain fit at every size.",
        "",
        "| net | rows | max_epochs | plain skorch (s) | default fit (s) | ratio | round (s) "
        "| kept | `fallback=None` (s) | ratio |",
        "|---|---:|---:|---:|---:|---:|---:|---|---:|---:|",
    ]
    for r in results.get("default", []):
        alone = (
            f"{r['reweighted']:.2f} | **{r['reweighted'] / r['plain']:.2f}x**"
            if "reweighted" in r
            else "— | —"
        )
        lines.append(
            f"| {r['net']} | {r['n']:,} | {_epochs(r)} | {r['plain']:.2f} | "
            f"{r['default']:.2f} | **{r['default'] / r['plain']:.2f}x** | {_round(r)} | "
            f"{r.get('selected', '—')} | {alone} |"
        )
    lines += [
        "",
        "## The meta epochs alone: MetaReweightClassifier / skorch NeuralNetClassifier",
        "",
        "One epoch, the trusted rows not trained on, MetaReweightClassifier with",
        "`warmup_epochs=0, refine_epochs=0`: the cost of the meta step itself.",
        "",
        "| net | rows | plain skorch (s) | meta, fast path (s) | ratio "
        "| paper recipe (s) | ratio | fast vs recipe |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results["fits"]:
        rec = r.get("recipe")
        cells = [
            r["net"],
            f"{r['n']:,}",
            f"{r['plain']:.2f}",
            f"{r['meta']:.2f}",
            f"**{r['meta'] / r['plain']:.2f}x**",
            f"{rec:.2f}" if rec else "-",
            f"{rec / r['plain']:.2f}x" if rec else "-",
            f"{rec / r['meta']:.2f}x faster" if rec else "-",
        ]
        lines.append("| " + " | ".join(cells) + " |")
    lines += [
        "",
        "## One step in pure torch (no data loading), n = 128 training, m = 100 trusted rows",
        "",
        "| net | plain step (ms) | fast (ms) | ratio | general (ms) | ratio "
        "| recipe (ms) | ratio |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for net, s in results["steps"].items():
        cells = [net, f"{1e3 * s['plain']:.2f}"]
        for k in ("fast", "general", "recipe"):
            cells += [f"{1e3 * s[k]:.2f}", f"{s[k] / s['plain']:.2f}x"]
        lines.append("| " + " | ".join(cells) + " |")
    lines += [
        "",
        "## Peak memory above the data, one fit in a fresh process (MiB)",
        "",
        "What grows with n on the meta side is its per-row output, not the training step:",
        "`example_weights_`, `label_quality_`, the weight and margin sums and the row indices,",
        "8 bytes a row each.",
        "",
        "| net | rows | plain skorch | meta |",
        "|---|---:|---:|---:|",
    ]
    for r in results["memory"]:
        lines.append(f"| {r['net']} | {r['n']:,} | {r['plain']:.0f} | {r['meta']:.0f} |")
    if results.get("carry"):
        lines += [
            "",
            "## The weights carried to gradient-boosted trees (`ReweightedClassifier`)",
            "",
            "`ReweightedClassifier(HistGradientBoostingClassifier())` with its defaults",
            "(the check: per fold of two, a reweighter and the trees carried each of five",
            "ways, `prune` with five more for its out-of-fold probabilities; then the",
            "reweighter on every row and the trees carried the chosen way), against the",
            "trees alone on the same rows and the default `MetaReweightClassifier` alone.",
            "`check`: the check's two folds alone in the one-job fit; `vs parts`: the",
            "carried fit over the trees plus the reweighter (the bar: at most 2.0x).",
            "`n_jobs=3`: the two fold fits and the full reweighter side by side in joblib's",
            "worker processes (reused between fits), each on one thread, on the machine's",
            "cores; `same`: whether its way and predictions were those of the one-job fit.",
            "",
            "| rows | max_epochs | trees (s) | reweighter (s) | carried (s) | check (s) "
            "| vs parts | vs trees | cores | carried, `n_jobs=3` (s) | speed-up | same | carried |",
            "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|",
        ]
        for r in results["carry"]:
            check = f"{r['check']:.2f}" if "check" in r else "—"
            parts = r["carried"] / (r["trees"] + r["reweighter"])
            lines.append(
                f"| {r['n']:,} | {_epochs(r)} | {r['trees']:.2f} | {r['reweighter']:.2f} | "
                f"{r['carried']:.2f} | {check} | **{parts:.2f}x** | "
                f"{r['carried'] / r['trees']:.1f}x | "
                f"{r['cores']} | {r['carried_jobs3']:.2f} | "
                f"{r['carried'] / r['carried_jobs3']:.2f}x | {'yes' if r['same'] else 'no'} | "
                f"{r['carry']} |"
            )
    gpu = results.get("gpu") or {}
    lines += ["", "## On a GPU", ""]
    if not gpu:
        lines.append(
            "Not measured: no GPU was at hand (`python benchmarks/speed.py --device cuda "
            "--sections gpu --json benchmarks/results/speed.json` where one is)."
        )
    else:
        lines += [
            f"{gpu['device']}; the wide MLP (1024, 1024), batch {BATCH}. One epoch of meta",
            "steps against one plain epoch, and a default fit against a plain fit of the same",
            "`max_epochs`, as on the CPU above.",
            "",
            "| rows | plain epoch (s) | meta epoch (s) | ratio | max_epochs | plain fit (s) "
            "| default fit (s) | ratio | round (s) |",
            "|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for r in gpu["rows"]:
            fit = ["—"] * 5
            if "default" in r:
                fit = [
                    str(r["epochs"]),
                    f"{r['default_plain']:.2f}",
                    f"{r['default']:.2f}",
                    f"**{r['default'] / r['default_plain']:.2f}x**",
                    f"{r['round']:.2f}",
                ]
            cells = [f"{r['n']:,}", f"{r['plain']:.2f}", f"{r['meta']:.2f}"]
            cells += [f"**{r['meta'] / r['plain']:.2f}x**", *fit]
            lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()

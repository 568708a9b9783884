"""Do the saved quality figures of the defaults reproduce on this machine?

The fits are deterministic on one machine, but not across CPUs: the float
rounding of torch's CPU kernels differs between instruction sets, and a
training run amplifies a difference in the last bits into a different model
(the baselines' plain nets reproduced on every machine measured; the
reweighted fits, with their per-example gradients and selection round, did
not). This script refits ``l2rw`` (``MetaReweightClassifier`` with its
defaults) for every seed of the given quality scenarios, prints each seed's
test accuracy beside the saved one, and per scenario the mean and issue 18's
verdict (against the best non-oracle baseline and against ``plain``, both as
saved) now and as saved, so that a reader can see which verdicts are within
what a change of CPU moves. The first line names the machine: its CPU model
and the instruction set torch's kernels dispatch to (``ATEN_CPU_CAPABILITY``
caps it; capping it at ``avx2`` on an AVX-512 machine does not reproduce the
saved figures: ``benchmarks/results/diagnose_cpu_avx2.txt``). Nothing is
written.

Usage::

    python benchmarks/diagnostics/diagnose_cpu.py --scenarios risk-moons-uniform-30,cw-fair-pair-30
"""

import platform
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the shared benchmark modules
import quality  # noqa: E402


def main(argv=None):
    args, specs = quality.scenario_cli(__doc__, argv, seeds=5)
    print(f"# CPU: {cpu_model()}; torch {torch.__version__}, kernels {kernels()}", flush=True)
    changed = []
    for name in args.scenarios.split(","):
        runs, best = quality.saved_runs(name, args.seeds)
        saved = [r["acc"]["l2rw"] for r in runs]
        now = []
        for seed in range(len(runs)):
            now.append(quality.run_seed(name, specs[name], seed, only={"l2rw"})["acc"]["l2rw"])
            print(f"{name} seed {seed}: now {now[-1]:.4f}, saved {saved[seed]:.4f}", flush=True)
        text_now, met_now, harm_now = quality.saved_verdicts(now, runs, best)
        text_saved, met_saved, harm_saved = quality.saved_verdicts(saved, runs, best)
        differ = int(np.sum(np.asarray(now) != np.asarray(saved)))
        print(
            f"{name}: {differ} of {len(runs)} seeds differ, largest by "
            f"{np.max(np.abs(np.subtract(now, saved))):.4f}; now {text_now}; saved {text_saved}",
            flush=True,
        )
        if (met_now, harm_now) != (met_saved, harm_saved):
            changed.append(name)
    print(f"verdicts that change on this machine: {', '.join(changed) or 'none'}")


def cpu_model():
    """The CPU's model name (Linux's /proc/cpuinfo), else the platform's word."""
    try:
        with open("/proc/cpuinfo") as info:
            for line in info:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def kernels():
    """The instruction set torch's CPU kernels dispatch to, and the BLAS."""
    blas = "MKL" if torch.backends.mkl.is_available() else "no MKL"
    return f"{torch.backends.cpu.get_cpu_capability()} ({blas})"


if __name__ == "__main__":
    main()

"""``wick train`` side by side with its peers.

    python benchmarks/bench_cli.py [--runs 5] [--seeds 5] [--startup-runs 21] [--startup-only]

0. Start-up, whole process: ``python -c pass``, ``python -c "import numpy"``, ``python -c "import
   wick"`` and ``wick train`` (the tutorial's job), from process start to exit, the median of
   ``--startup-runs`` runs taken in turns (one of each per round, so that a busy machine slows all
   four alike), with the ratios to ``import numpy``; also the CPU time (user + system) of each
   process, which a busy machine inflates much less than the wall time. Run it in a fresh
   virtual environment to see what a new user gets (``python3 -m venv v && v/bin/pip install
   -e . && v/bin/python benchmarks/bench_cli.py --startup-only``).
1. Whole process, the tutorial's job: ``wick train`` (no arguments) against the tutorial's
   PyTorch program (``benchmarks/tutorial_torch.py``, Appendix A), when PyTorch is installed:
   wall time from process start to exit, the median of ``--runs`` runs, each in a fresh folder.
2. Iris, in process: wick's training (the loop ``wick train --data iris`` runs) against
   scikit-learn's ``MLPClassifier``, when scikit-learn is installed, with the same split,
   standardisation, hidden sizes (30, 20), optimizer (Adam, lr 0.01), batch size (16) and epochs
   (100). Both are timed epoch by epoch (evaluation excluded); the table gives the final held-out
   accuracy, the total training time and the time each first reached the target accuracy: the
   lower of the two final accuracies, so "time to the same accuracy". Medians over ``--seeds``.
   scikit-learn is timed epoch by epoch with ``partial_fit`` and, for its own fastest loop, with
   one ``fit`` call of exactly 100 epochs.
3. Whole process, iris: ``wick train --data iris`` from start to exit, for reference.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
import warnings

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.join(os.path.dirname(HERE), "src")
sys.path.insert(0, SRC)

import numpy as np  # noqa: E402

from wick.cli import csvdata  # noqa: E402
from wick.cli.train import CSV, Config, Run  # noqa: E402


def whole_process(cmd: list, runs: int) -> float:
    """Median wall time of ``cmd`` (each run in a fresh temporary folder)."""
    env = dict(os.environ, PYTHONPATH=SRC)
    times = []
    for _ in range(runs):
        with tempfile.TemporaryDirectory() as folder:
            started = time.perf_counter()
            subprocess.run(cmd, cwd=folder, env=env, check=True, stdout=subprocess.DEVNULL)
            times.append(time.perf_counter() - started)
    return statistics.median(times)


def _children_cpu() -> float:
    try:
        import resource
    except ImportError:  # not on Windows: no CPU column there
        return float("nan")
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    return used.ru_utime + used.ru_stime


def startup(cmds: dict, runs: int) -> dict:
    """``name -> (median wall s, median CPU s)``, the commands run in turns, each in a fresh folder."""
    env = dict(os.environ, PYTHONPATH=SRC)
    times = {name: ([], []) for name in cmds}
    for _ in range(runs):
        for name, cmd in cmds.items():
            with tempfile.TemporaryDirectory() as folder:
                cpu, started = _children_cpu(), time.perf_counter()
                subprocess.run(cmd, cwd=folder, env=env, check=True, stdout=subprocess.DEVNULL)
                times[name][0].append(time.perf_counter() - started)
                times[name][1].append(_children_cpu() - cpu)
    return {name: tuple(statistics.median(ts) for ts in pair) for name, pair in times.items()}


def print_startup(runs: int) -> None:
    py = sys.executable
    print("0. Start-up, whole process (start to exit), median of", runs, "runs taken in turns")
    cmds = {
        "python -c pass": [py, "-c", "pass"],
        'python -c "import numpy"': [py, "-c", "import numpy"],
        'python -c "import wick"': [py, "-c", "import wick"],
        "wick train": [py, "-m", "wick.cli.main", "train"],
    }
    med = startup(cmds, runs)
    numpy_s, numpy_cpu = med['python -c "import numpy"']
    print(
        f"   {'':32}{'wall s':>8}{'ratio':>8}{'CPU s':>10}{'ratio':>8}   (ratio: to import numpy)"
    )
    for name, (wall, cpu) in med.items():
        print(f"   {name:32}{wall:8.3f}{wall / numpy_s:7.2f}x{cpu:10.3f}{cpu / numpy_cpu:7.2f}x")


def wick_iris(seed: int, epochs: int) -> tuple:
    """``(accuracy after each epoch, cumulative training seconds after each epoch)``."""
    cfg = Config(data="iris", **{**CSV, "epochs": epochs, "seed": seed})
    run = Run(cfg, out=os.devnull)
    accs, times, spent = [], [], 0.0
    for _ in range(epochs):
        started = time.perf_counter()
        run.train_epoch()
        spent += time.perf_counter() - started
        accs.append(run.evaluate(run.test, run.x_test)[1])
        times.append(spent)
    return accs, times


def sklearn_iris(seed: int, epochs: int) -> tuple:
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier

    full = csvdata.load_labeled("iris", None)
    train_ids, test_ids = csvdata.stratified_split(full.y, 0.2, seed)
    std = csvdata.Standardizer.fit(full.x[train_ids])
    x_train, y_train = std.apply(full.x[train_ids]), full.y[train_ids]
    x_test, y_test = std.apply(full.x[test_ids]), full.y[test_ids]
    clf = MLPClassifier(
        hidden_layer_sizes=(30, 20),
        solver="adam",
        learning_rate_init=0.01,
        batch_size=CSV["batch_size"],
        shuffle=True,
        random_state=seed,
    )
    accs, times, spent = [], [], 0.0
    classes = np.unique(full.y)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for _ in range(epochs):
            started = time.perf_counter()
            clf.partial_fit(x_train, y_train, classes=classes)  # one epoch of Adam mini-batches
            spent += time.perf_counter() - started
            accs.append(float((clf.predict(x_test) == y_test).mean()))
            times.append(spent)
    return accs, times


def sklearn_fit_seconds(seed: int, epochs: int) -> float:
    """scikit-learn's own loop: ``fit`` for exactly ``epochs`` epochs in one call."""
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier

    full = csvdata.load_labeled("iris", None)
    train_ids, _ = csvdata.stratified_split(full.y, 0.2, seed)
    std = csvdata.Standardizer.fit(full.x[train_ids])
    clf = MLPClassifier(
        hidden_layer_sizes=(30, 20),
        solver="adam",
        learning_rate_init=0.01,
        batch_size=CSV["batch_size"],
        max_iter=epochs,
        n_iter_no_change=epochs,
        tol=0.0,
        random_state=seed,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        started = time.perf_counter()
        clf.fit(std.apply(full.x[train_ids]), full.y[train_ids])
        return time.perf_counter() - started


def time_to(accs: list, times: list, target: float) -> float:
    for acc, t in zip(accs, times):
        if acc >= target - 1e-12:
            return t
    return float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=5, help="whole-process runs (median)")
    parser.add_argument("--seeds", type=int, default=5, help="iris seeds (median)")
    parser.add_argument("--startup-runs", type=int, default=21, help="start-up runs (median)")
    parser.add_argument("--startup-only", action="store_true", help="run section 0 only")
    args = parser.parse_args()
    py = sys.executable
    print(f"python {sys.version.split()[0]}, numpy {np.__version__}, {os.cpu_count()} CPUs\n")
    print_startup(args.startup_runs)
    if args.startup_only:
        return
    print()

    print("1. The tutorial's job, whole process (start to exit), median of", args.runs, "runs")
    wick_s = whole_process([py, "-m", "wick.cli.main", "train"], args.runs)
    bare_s = whole_process([py, "-c", "pass"], args.runs)
    print(f"   {'python -c pass (interpreter start)':40}{bare_s:8.3f} s")
    print(f"   {'wick train':40}{wick_s:8.3f} s")
    try:
        import torch

        torch_s = whole_process([py, os.path.join(HERE, "tutorial_torch.py")], args.runs)
        print(f"   {'tutorial_torch.py (PyTorch ' + torch.__version__ + ')':40}{torch_s:8.3f} s")
        print(f"   {'wick / PyTorch':40}{wick_s / torch_s:8.2f}x")
    except ImportError:
        print("   PyTorch is not installed: skipped")

    print(
        f"\n2. Iris, in process, {CSV['epochs']} epochs, MLP 4-30-20-3, Adam lr 0.01, batch 16,"
        f" median of {args.seeds} seeds"
    )
    try:
        import sklearn
    except ImportError:
        print("   scikit-learn is not installed: skipped")
        sklearn = None
    if sklearn is not None:
        rows = []
        for seed in range(123, 123 + args.seeds):
            w_acc, w_t = wick_iris(seed, CSV["epochs"])
            s_acc, s_t = sklearn_iris(seed, CSV["epochs"])
            target = min(w_acc[-1], s_acc[-1])
            rows.append(
                (
                    w_acc[-1],
                    s_acc[-1],
                    w_t[-1],
                    s_t[-1],
                    target,
                    time_to(w_acc, w_t, target),
                    time_to(s_acc, s_t, target),
                    sklearn_fit_seconds(seed, CSV["epochs"]),
                )
            )
        med = [statistics.median(col) for col in zip(*rows)]
        print(f"   {'':24}{'wick':>10}{'sklearn ' + sklearn.__version__:>20}")
        print(f"   {'held-out accuracy':24}{med[0]:10.4f}{med[1]:20.4f}")
        print(f"   {'training time, 100 ep.':24}{med[2]:9.3f}s{med[3]:19.3f}s")
        print(
            f"   {'time to the same acc.':24}{med[5]:9.3f}s{med[6]:19.3f}s"
            f"   (target: the lower final accuracy, median {med[4]:.4f})"
        )
        print(f"   {'(sklearn fit(), one call)':24}{'':10}{med[7]:19.3f}s")
        print(
            f"   wick / sklearn, training time        {med[2] / med[3]:7.2f}x "
            f"(partial_fit per epoch), {med[2] / med[7]:.2f}x (fit)"
        )

    print("\n3. wick train --data iris, whole process, median of", args.runs, "runs")
    iris_s = whole_process([py, "-m", "wick.cli.main", "train", "--data", "iris"], args.runs)
    print(f"   {'wick train --data iris':40}{iris_s:8.3f} s")


if __name__ == "__main__":
    main()

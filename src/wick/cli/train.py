"""``wick train``: with no arguments the tutorial's job on its toy data; with ``--data`` an MLP
classifier for a CSV file (or the built-in iris), saved as a self-describing safetensors file."""

from __future__ import annotations

import math
import os
import sys
import time
from dataclasses import asdict, dataclass, field

import numpy as np

from .. import distributed
from ..core import Device, Tensor
from ..core.device import as_device
from ..core.errors import Error
from ..data import DataLoader, TensorDataset
from ..nn.optim import SGD, AdamW, ParamsAdamW
from . import checkpoint, csvdata, model, outputs, report
from . import task as tasks
from .errors import CliError
from .metrics import fmt
from .options import MAX_SEED

# The tutorial's settings. Its seed is the one, of the first 30,000, whose six logged losses come
# closest to those the tutorial prints (3.64 0.00 3.33 0.00 0.00 0.00): 3.54 0.00 3.69 0.00 ...,
# so that a newcomer reading the tutorial beside the terminal sees the run it describes.
TUTORIAL = dict(
    epochs=3, batch_size=2, lr=0.5, optimizer="sgd", standardize=False, drop_last=True, seed=1196
)
# With --data: Adam, standardised features; the seed is Appendix A's torch.manual_seed(123).
CSV = dict(
    epochs=100,
    batch_size=16,
    lr=0.01,
    optimizer="adamw",
    standardize=True,
    drop_last=False,
    seed=123,
)
# Options a resumed run takes from its checkpoint; the others may change (paths, epochs).
FIXED_ON_RESUME = (
    "task",
    "delimiter",
    "header",
    "target",
    "features",
    "test_fraction",
    "hidden",
    "batch_size",
    "lr",
    "optimizer",
    "seed",
    "standardize",
    "drop_last",
)
SHOWN = {"accuracy": "accuracy", "r2": "R2", "mae": "MAE"}
CHECKPOINT_SECONDS = 1.0
PER_BATCH_LOG_LIMIT = 30  # runs with at most this many steps log every batch, as the tutorial


@dataclass
class Config:
    """One training run's settings (what a checkpoint records)."""

    data: str | None = None  # None: the tutorial's toy data
    target: str | None = None
    features: list | None = None
    test: str | None = None
    test_fraction: float = 0.2
    hidden: list = field(default_factory=lambda: [30, 20])
    epochs: int = 3
    batch_size: int = 2
    lr: float = 0.5
    optimizer: str = "sgd"
    seed: int = 123
    standardize: bool = False
    drop_last: bool = True
    device: str = "cpu"
    task: str | None = None  # None: a classification that refuses a continuous-looking target
    delimiter: str | None = None  # None: sniffed
    header: bool | None = None  # None: required, and refused when it holds numbers


class Diverged(Exception):
    """The training loss stopped being a finite number."""

    def __init__(self, epoch: int, batch: int, value: float):
        self.epoch, self.batch, self.value = epoch, batch, value


def _config_from_args(args) -> Config:
    given = {k: v for k, v in vars(args).items() if v is not None}
    if args.data is None:
        for key in ("target", "features", "test", "test_fraction", "task", "delimiter", "header"):
            if key in given:
                raise CliError(
                    f"--{key.replace('_', '-')} needs --data (without it, wick train runs the "
                    "tutorial's toy set)"
                )
    cfg = Config()
    defaults = TUTORIAL if args.data is None else CSV
    for key, value in {**defaults, **given}.items():
        if hasattr(cfg, key):
            setattr(cfg, key, value)
    return cfg


def _config_from_checkpoint(args, state: dict) -> Config:
    try:
        cfg = Config(**state["config"])
    except (KeyError, TypeError):
        raise CliError(f"{args.resume}: the checkpoint's run settings are damaged") from None
    for key in FIXED_ON_RESUME:
        if getattr(args, key, None) is not None and getattr(args, key) != getattr(cfg, key):
            raise CliError(
                f"--{key.replace('_', '-')} cannot change when resuming; the checkpoint "
                f"has {getattr(cfg, key)!r}"
            )
    if args.epochs is not None:
        cfg.epochs = args.epochs
    if args.device is not None:
        cfg.device = args.device
    for key in ("data", "test"):  # files may have moved; their contents are checked
        if getattr(args, key) is not None:
            setattr(cfg, key, getattr(args, key))
    return cfg


def _validate(cfg: Config) -> None:
    """Checks the settings again: a checkpoint's are read from a file, not from the parser."""
    if not isinstance(cfg.epochs, int) or cfg.epochs < 1:
        raise CliError(f"--epochs must be at least 1, got {cfg.epochs}")
    if not isinstance(cfg.batch_size, int) or cfg.batch_size < 1:
        raise CliError(f"--batch-size must be at least 1, got {cfg.batch_size}")
    if not (isinstance(cfg.lr, (int, float)) and math.isfinite(cfg.lr) and cfg.lr > 0):
        raise CliError(f"--lr must be a finite number above 0, got {cfg.lr}")
    if not 0 <= cfg.test_fraction < 1:
        raise CliError(f"--test-fraction must be in [0, 1), got {cfg.test_fraction}")
    if cfg.optimizer not in ("sgd", "adamw"):
        raise CliError(f"--optimizer must be sgd or adamw, got {cfg.optimizer!r}")
    if not (isinstance(cfg.seed, int) and 0 <= cfg.seed <= MAX_SEED):
        raise CliError(f"--seed must be in [0, 2**64), got {cfg.seed}")
    if cfg.task not in (None, "classification", "regression"):
        raise CliError(f"--task must be classification or regression, got {cfg.task!r}")
    if not (isinstance(cfg.hidden, list) and all(isinstance(n, int) and n > 0 for n in cfg.hidden)):
        raise CliError(f"--hidden must be positive layer sizes, got {cfg.hidden!r}")


def _device(name: str) -> Device:
    try:
        return as_device(name)
    except Error as exc:
        raise CliError(f"--device {name}: {' '.join(str(exc).split())}") from None


def _load_data(cfg: Config) -> tuple:
    """``(train, test or None, rows read, text describing the split)``, unstandardised."""
    if cfg.data is None:
        train, test = csvdata.toy_data()
        return train, test, len(train) + len(test), None
    opts = {"delimiter": cfg.delimiter, "header": cfg.header}
    full = csvdata.load_labeled(cfg.data, cfg.target, cfg.features, None, cfg.task, opts)
    cfg.target, cfg.features = full.target, full.features
    if cfg.test is not None:
        test = csvdata.load_labeled(
            cfg.test, full.target, full.features, full.classes or None, cfg.task or "", opts
        )
        text = f"all for training, {len(test)} rows of {test.source} for testing"
        return full, test, len(full), text
    if cfg.test_fraction == 0:
        return full, None, len(full), "all for training, none held out"
    if cfg.task == "regression":
        train_ids, test_ids = csvdata.random_split(len(full), cfg.test_fraction, cfg.seed)
        how = "random"
    else:
        train_ids, test_ids = csvdata.stratified_split(full.y, cfg.test_fraction, cfg.seed)
        how = "stratified"
    if len(test_ids) == 0:  # a test set of no rows would score nothing (nan)
        text = (
            f"all for training, none held out (--test-fraction {cfg.test_fraction:g} of "
            f"{len(full)} rows rounds to no row)"
        )
        return full, None, len(full), text
    text = (
        f"{len(train_ids)} for training, {len(test_ids)} held out for testing "
        f"({how}, seed {cfg.seed})"
    )
    return full.subset(train_ids), full.subset(test_ids), len(full), text


def _hashes(cfg: Config) -> dict:
    paths = {"data": cfg.data, "test": cfg.test}
    return {k: csvdata.file_sha256(csvdata.resolve(p)[0]) for k, p in paths.items() if p}


class Run:
    """The state of one training run: data, model, optimizer, history."""

    def __init__(self, cfg: Config, out: str, compile_steps: bool = True):
        self.cfg, self.out = cfg, out
        self.device = _device(cfg.device)
        train, test, self.n_rows, self.split_text = _load_data(cfg)
        std = (
            csvdata.Standardizer.fit(train.x)
            if cfg.standardize
            else csvdata.Standardizer.identity(train.x.shape[1])
        )
        regression = cfg.task == "regression"
        scale = csvdata.Standardizer.fit(train.y.reshape(-1, 1)) if regression else None
        self.spec = model.ModelSpec(
            train.features,
            train.target,
            train.classes,
            list(cfg.hidden),
            std,
            task="regression" if regression else "classification",
            target_scale=scale,
        )
        self.task = tasks.for_spec(self.spec)
        self.train, self.test = train, test
        self.x_train = std.apply(train.x)
        self.x_test = std.apply(test.x) if test is not None else None
        what = f"--hidden {','.join(map(str, cfg.hidden))}" if cfg.hidden else "the model"
        model.check_size(self.spec.sizes, 2 if cfg.optimizer == "sgd" else 4, what)
        Device.Cpu.set_seed(cfg.seed)
        if not self.device.is_cpu():
            self.device.set_seed(cfg.seed)
        self.model, self.varmap = model.build(self.spec, self.device)
        vars_ = self.varmap.all_vars()
        self.optimizer = (
            SGD(vars_, cfg.lr) if cfg.optimizer == "sgd" else AdamW(vars_, ParamsAdamW(lr=cfg.lr))
        )
        # Under mpiexec, data-parallel: --batch-size is the global batch, split over the ranks,
        # which start from rank 0's weights and average their gradients before each step. Every
        # rank seeded Device.Cpu alike and drew the same numbers, so their shuffles agree.
        self.world = distributed.init()
        per_rank, shard = cfg.batch_size, None
        if self.world.size > 1:
            if cfg.batch_size % self.world.size:
                raise CliError(
                    f"--batch-size {cfg.batch_size} is not divisible by the {self.world.size} "
                    "processes (it is the global batch, split evenly over them)"
                )
            per_rank, shard = cfg.batch_size // self.world.size, (self.world.rank, self.world.size)
            self.optimizer = distributed.DistributedOptimizer(self.optimizer)
        xs = Tensor.new(self.x_train, self.device)
        self.loader = DataLoader(
            TensorDataset(xs, self.task.targets(train.y, self.device)),
            per_rank,
            shuffle=True,
            drop_last=cfg.drop_last,
            shard=shard,
        )
        if self.loader.total_batches() == 0:
            raise CliError(
                f"--batch-size {cfg.batch_size} is larger than the {len(train)} "
                "training rows and the last incomplete batch is dropped"
            )
        # One step captured once per batch shape and replayed (wick.jit), bit for bit the eager
        # step; data-parallel steps average their gradients outside the optimizer: eager.
        self.step = self._step
        if compile_steps and self.world.size == 1:
            from ..jit import capture

            self.step = capture(self._step)
        self.epoch, self.history = 0, []
        self.checkpointed = None  # the epoch of the last checkpoint this run wrote
        self.good = None  # (epoch, weights) of the last epoch whose losses were all finite
        self.hashes = _hashes(cfg)

    def evaluate(self, labeled, x) -> tuple:
        """``(loss, scores, predictions)`` on a whole set, in one forward pass."""
        out = self.model(Tensor.new(x, self.device))
        loss = self.task.loss(out, self.task.targets(labeled.y, self.device)).to_vec0()
        pred = self.task.decode(out)
        return loss, self.task.scores(pred, labeled.y), pred

    def train_epoch(self, log=None) -> list:
        """One pass over the shuffled batches (the tutorial's loop); returns the batch losses.

        Raises ``Diverged`` after the step of a batch whose loss is not finite."""
        cfg, total = self.cfg, self.loader.total_batches()
        losses = []
        for b, (features, targets) in enumerate(self.loader):
            value = self.step(features, targets).to_vec0()
            if not math.isfinite(value):  # the step is taken; restore_good undoes it
                raise Diverged(self.epoch + 1, b + 1, value)
            losses.append(value)
            if log is not None:
                log(
                    f"Epoch: {self.epoch + 1:03d}/{cfg.epochs:03d} | Batch {b + 1:03d}/{total:03d}"
                    f" | Train Loss: {losses[-1]:.2f}"
                )
        self.epoch += 1
        return losses

    def _step(self, features, targets):
        """Forward, loss, backward and update of one batch; returns the loss."""
        loss = self.task.loss(self.model(features), targets)
        self.optimizer.backward_step(loss)
        return loss

    def run_epoch(self, log) -> dict:
        """``train_epoch``, then the epoch's metrics (added to the history)."""
        losses = self.train_epoch(log)
        row = {"epoch": self.epoch, "train_loss": float(np.mean(losses))}
        loss, scores, _ = self.evaluate(self.train, self.x_train)
        if not math.isfinite(loss):  # the last step overflowed the weights
            raise Diverged(self.epoch, len(losses), loss)
        row.update({f"train_{k}": v for k, v in scores.items()})
        if self.test is not None:
            loss, scores, _ = self.evaluate(self.test, self.x_test)
            row["test_loss"] = loss
            row.update({f"test_{k}": v for k, v in scores.items()})
        self.history.append(row)
        self.keep_good()
        return row

    def keep_good(self) -> None:
        """Remembers the weights now as the last finite model."""
        weights = {n: v.as_detached_tensor().numpy().copy() for n, v in self.varmap.data().items()}
        self.good = (self.epoch, weights)

    def restore_good(self) -> int:
        """Puts back the last finite model; returns its epoch."""
        epoch, weights = self.good
        own = self.varmap.data()
        self.varmap.set(
            {n: Tensor.new(w, self.device).to_dtype(own[n].dtype) for n, w in weights.items()}
        )
        return epoch

    def state(self) -> dict:
        """What a checkpoint records; file paths made absolute so that any folder can resume."""
        config = asdict(self.cfg)
        for key in ("data", "test"):
            if config[key] is not None and os.path.exists(config[key]):
                config[key] = os.path.abspath(config[key])
        return {
            "config": config,
            "epoch": self.epoch,
            "history": self.history,
            "sha256": self.hashes,
        }


def _terminal_reports_size(stream) -> bool:
    try:
        size = os.get_terminal_size(stream.fileno())
    except (OSError, ValueError, AttributeError):
        return False
    return size.columns > 0 and size.lines > 0


def _train_loop(run: Run, ckpt_path: str | None) -> None:
    cfg = run.cfg
    per_batch = cfg.epochs * run.loader.total_batches() <= PER_BATCH_LOG_LIMIT
    every = max(1, cfg.epochs // 10)
    bar = None
    if not per_batch:
        from tqdm import tqdm  # here: its import costs 30 ms that per-batch logging never needs

        # A terminal that reports no size (a bare pty) would get no bar at all: assume 80x24.
        sized = _terminal_reports_size(sys.stderr)
        bar = tqdm(
            total=cfg.epochs,
            initial=run.epoch,
            unit="epoch",
            leave=False,
            file=sys.stderr,
            disable=None,
            dynamic_ncols=sized,
            ncols=None if sized else 80,
            nrows=None if sized else 24,
        )
    log = bar.write if bar is not None else print
    try:
        saved = time.monotonic()
        while run.epoch < cfg.epochs:
            row = run.run_epoch(log if per_batch else None)
            # Every epoch, but at most once per CHECKPOINT_SECONDS (and always the last): a long
            # run of fast epochs must not spend its time writing files.
            now = time.monotonic()
            last = run.epoch == cfg.epochs
            due = ckpt_path is not None and (last or now - saved >= CHECKPOINT_SECONDS)
            if due and run.world.is_main():
                checkpoint.save(
                    ckpt_path, run.varmap, run.optimizer, run.state(), run.spec.to_metadata()
                )
                saved, run.checkpointed = now, run.epoch
            if bar is not None:
                bar.update(1)
                score = row[f"train_{run.task.headline}"]
                shown = "-" if score is None else f"{score:.3f}"
                key = run.task.shown.lower()
                bar.set_postfix({"loss": f"{row['train_loss']:.3f}", key: shown}, refresh=False)
            if not per_batch and (run.epoch % every == 0 or run.epoch == cfg.epochs):
                log(report.epoch_line(row, cfg.epochs, run.task))
            sys.stdout.flush()
    finally:
        if bar is not None:
            bar.close()


def _plan_outputs(args, cfg: Config, out: str, ckpt: str | None) -> None:
    """The output policy (outputs.py), before any work: inputs, collisions, foreign files."""
    inputs = [
        (f"--{k}", csvdata.require(getattr(cfg, k))) for k in ("data", "test") if getattr(cfg, k)
    ]
    if args.resume and args.resume != ckpt:
        inputs.append(("--resume", args.resume))
    planned = [("--out", out, "model")]
    if ckpt:
        planned.append(("--checkpoint" if args.checkpoint else "--resume", ckpt, "checkpoint"))
    if args.plot:
        planned.append(("--plot", args.plot, "plot"))
    outputs.check(inputs, planned, args.force)


def run(args) -> int:
    """The ``wick train`` command."""
    if args.test is not None and args.test_fraction is not None:
        raise CliError("--test and --test-fraction exclude each other: a test file or a split")
    state = checkpoint.read_state(args.resume) if args.resume else None
    cfg = _config_from_args(args) if state is None else _config_from_checkpoint(args, state)
    _validate(cfg)
    out = args.out or "model.safetensors"
    ckpt = args.checkpoint or args.resume  # a resumed run keeps saving to its checkpoint
    _plan_outputs(args, cfg, out, ckpt)
    if args.plot:
        from .plot import require_matplotlib

        require_matplotlib(args.plot)
    run_ = Run(cfg, out, getattr(args, "compile", True))
    if not run_.world.is_main():
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - rank 0 alone logs
    if state:
        if run_.hashes != state["sha256"]:
            raise CliError("the data files differ from those the checkpoint was trained on")
        if state["epoch"] > cfg.epochs:
            raise CliError(
                f"the checkpoint is at epoch {state['epoch']}, past --epochs {cfg.epochs}"
            )
        checkpoint.restore(args.resume, run_.varmap, run_.optimizer)
        run_.epoch, run_.history = state["epoch"], state["history"]
        run_.keep_good()
    report.header(run_)
    if run_.world.size > 1:
        print(
            f"parallel  {run_.world.size} processes, {cfg.batch_size // run_.world.size} examples "
            "each per step, gradients averaged (losses logged are rank 0's)\n"
        )
    if state:
        print(f"resumed   {args.resume} at epoch {run_.epoch}\n")
    started = time.perf_counter()
    try:
        _train_loop(run_, ckpt)
    except KeyboardInterrupt:
        _say_interrupted(run_, ckpt)
        return 130
    except Diverged as d:
        _stop_diverged(run_, d, out)
    seconds = time.perf_counter() - started
    results = report.final_table(run_)
    if not run_.world.is_main():
        return 0  # rank 0 alone writes the files
    _save(run_, out, cfg.epochs, results)
    print(f"\ntrained   in {seconds:.2f} s")
    print(f"saved     {out}")
    _confirm_reload(run_, out, results)
    if args.plot:
        from .plot import save_curves

        save_curves(run_.history, args.plot, run_.spec.target, run_.task)
        print(f"plotted   {args.plot}")
    if cfg.data is None:
        print(
            f"\nnext      wick train --data iris       (a real dataset, built in)\n"
            f"          wick inspect {out}\n          wick train --help"
        )
    else:
        print(
            f"\nnext      wick predict --model {out} --data FILE.csv --out predictions.csv\n"
            f"          wick eval --model {out} --data FILE.csv"
        )
    return 0


def _save(run: Run, out: str, epochs: int, results: dict, stopped: str | None = None) -> None:
    cfg = run.cfg
    run.spec.training = {
        "data": cfg.data or "tutorial toy set",
        "epochs": epochs,
        "optimizer": cfg.optimizer,
        "lr": cfg.lr,
        "batch_size": cfg.batch_size,
        "seed": cfg.seed,
        **{f"{name}_{k}": v for name, scores in results.items() for k, v in scores.items()},
    }
    if stopped:
        run.spec.training["stopped"] = stopped
    model.save(run.varmap, run.spec, out)


def _say_interrupted(run: Run, ckpt: str | None) -> None:
    if run.checkpointed is not None:
        text = (
            f"wick: interrupted; {ckpt} holds epoch {run.checkpointed}. "
            f"Continue with: wick train --resume {ckpt}"
        )
    elif ckpt:
        text = "wick: interrupted before the first checkpoint; nothing saved"
    else:
        text = "wick: interrupted; nothing saved (pass --checkpoint PATH to be able to resume)"
    print("\n" + text, file=sys.stderr)


def _stop_diverged(run: Run, d: Diverged, out: str) -> None:
    """Saves the last finite model (if any epoch had one) and stops with one error line."""
    what = (
        f"the training loss became {d.value} at epoch {d.epoch}, batch {d.batch} "
        f"(--lr {run.cfg.lr:g} is probably too high, or the features need --standardize)"
    )
    if run.good is None or not run.world.is_main():  # a rank other than 0 writes nothing
        raise CliError(f"{what}; nothing saved")
    epoch = run.restore_good()
    if epoch == 0:  # fresh weights: not a model worth a file
        raise CliError(f"{what}; nothing saved")
    scores = {}
    for name, labeled, x in (("train", run.train, run.x_train), ("test", run.test, run.x_test)):
        if labeled is not None:
            scores[name] = run.evaluate(labeled, x)[1]
    _save(run, out, epoch, scores, stopped=what)
    raise CliError(f"{what}; saved {out} from epoch {epoch}, the last with finite losses")


def _confirm_reload(run: Run, out: str, results: dict) -> None:
    loaded, spec = model.load(out, run.device)
    again, before = {}, {}
    for name, labeled in (("train", run.train), ("test", run.test)):
        if labeled is not None:
            pred = model.predict(loaded, spec.standardizer.apply(labeled.x), run.device, spec)
            scores = run.task.scores(pred, labeled.y)
            again[name] = ", ".join(f"{SHOWN[k]} {fmt(v)}" for k, v in scores.items())
            before[name] = ", ".join(f"{SHOWN[k]} {fmt(v)}" for k, v in results[name].items())
    shown = ", ".join(f"{k} {v}" for k, v in again.items())
    if again != before:
        raise CliError(f"reloading {out} gave different scores ({shown})")
    print(f"reloaded  {out}: {shown}, as before saving")

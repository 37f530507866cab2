"""``wick train``: with no arguments the tutorial's job on its toy data; with ``--data`` an MLP
classifier for a CSV file (or the built-in iris), saved as a self-describing safetensors file."""

from __future__ import annotations

import os
import sys
import time
from dataclasses import asdict, dataclass, field

import numpy as np

from ..core import Device, Tensor
from ..core.device import as_device
from ..core.errors import Error
from ..data import DataLoader, TensorDataset
from ..nn.loss import cross_entropy
from ..nn.optim import SGD, AdamW, ParamsAdamW
from . import checkpoint, csvdata, model
from .errors import CliError
from .metrics import accuracy, fmt, table

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


def _config_from_args(args) -> Config:
    given = {k: v for k, v in vars(args).items() if v is not None}
    if args.data is None:
        for key in ("target", "features", "test", "test_fraction"):
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
    if cfg.epochs < 1:
        raise CliError(f"--epochs must be at least 1, got {cfg.epochs}")
    if cfg.batch_size < 1:
        raise CliError(f"--batch-size must be at least 1, got {cfg.batch_size}")
    if not cfg.lr > 0:
        raise CliError(f"--lr must be positive, got {cfg.lr}")
    if not 0 <= cfg.test_fraction < 1:
        raise CliError(f"--test-fraction must be in [0, 1), got {cfg.test_fraction}")
    if cfg.optimizer not in ("sgd", "adamw"):
        raise CliError(f"--optimizer must be sgd or adamw, got {cfg.optimizer!r}")


def parse_hidden(text: str) -> list:
    """``"30,20"`` -> ``[30, 20]`` (argparse type)."""
    import argparse

    try:
        sizes = [int(p) for p in text.split(",") if p.strip()] if text.strip() else []
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected sizes like 30,20, got {text!r}") from None
    if any(n < 1 for n in sizes):
        raise argparse.ArgumentTypeError(f"layer sizes must be positive, got {text!r}")
    return sizes


def _device(name: str) -> Device:
    try:
        return as_device(name)
    except Error as exc:
        raise CliError(f"--device {name}: {' '.join(str(exc).split())}") from None


def _load_data(cfg: Config) -> tuple:
    """``(train, test or None, text describing the split)`` as Labeled sets, unstandardised."""
    if cfg.data is None:
        train, test = csvdata.toy_data()
        return train, test, None
    full = csvdata.load_labeled(cfg.data, cfg.target, cfg.features)
    cfg.target, cfg.features = full.target, full.features
    if cfg.test is not None:
        test = csvdata.load_labeled(cfg.test, full.target, full.features, full.classes)
        return (
            full,
            test,
            f"all for training, {len(test)} rows of {test.source} for testing",
        )
    if cfg.test_fraction == 0:
        return full, None, "all for training, none held out"
    train_ids, test_ids = csvdata.stratified_split(full.y, cfg.test_fraction, cfg.seed)
    text = (
        f"{len(train_ids)} for training, {len(test_ids)} held out for testing "
        f"(stratified, seed {cfg.seed})"
    )
    return full.subset(train_ids), full.subset(test_ids), text


def _hashes(cfg: Config) -> dict:
    paths = {"data": cfg.data, "test": cfg.test}
    return {k: csvdata.file_sha256(csvdata.resolve(p)[0]) for k, p in paths.items() if p}


class Run:
    """The state of one training run: data, model, optimizer, history."""

    def __init__(self, cfg: Config, out: str):
        self.cfg, self.out = cfg, out
        self.device = _device(cfg.device)
        train, test, self.split_text = _load_data(cfg)
        std = (
            csvdata.Standardizer.fit(train.x)
            if cfg.standardize
            else csvdata.Standardizer.identity(train.x.shape[1])
        )
        self.spec = model.ModelSpec(
            train.features, train.target, train.classes, list(cfg.hidden), std
        )
        self.train, self.test = train, test
        self.x_train = std.apply(train.x)
        self.x_test = std.apply(test.x) if test is not None else None
        Device.Cpu.set_seed(cfg.seed)
        if not self.device.is_cpu():
            self.device.set_seed(cfg.seed)
        self.model, self.varmap = model.build(self.spec, self.device)
        vars_ = self.varmap.all_vars()
        self.optimizer = (
            SGD(vars_, cfg.lr) if cfg.optimizer == "sgd" else AdamW(vars_, ParamsAdamW(lr=cfg.lr))
        )
        xs = Tensor.new(self.x_train, self.device)
        ys = Tensor.new(train.y.astype(np.uint32), self.device)
        self.loader = DataLoader(
            TensorDataset(xs, ys), cfg.batch_size, shuffle=True, drop_last=cfg.drop_last
        )
        if self.loader.total_batches() == 0:
            raise CliError(
                f"--batch-size {cfg.batch_size} is larger than the {len(train)} "
                "training rows and the last incomplete batch is dropped"
            )
        self.epoch, self.history = 0, []
        self.checkpointed = None  # the epoch of the last checkpoint this run wrote
        self.hashes = _hashes(cfg)

    def evaluate(self, labeled, x) -> tuple:
        """``(loss, accuracy, predictions)`` on a whole set, in one forward pass."""
        logits = self.model(Tensor.new(x, self.device))
        labels = Tensor.new(labeled.y.astype(np.uint32), self.device)
        loss = cross_entropy(logits, labels).to_vec0()
        pred = logits.argmax(1).numpy().astype(np.int64)
        return loss, accuracy(pred, labeled.y), pred

    def train_epoch(self, log=None) -> list:
        """One pass over the shuffled batches (the tutorial's loop); returns the batch losses."""
        cfg, total = self.cfg, self.loader.total_batches()
        losses = []
        for b, (features, labels) in enumerate(self.loader):
            loss = cross_entropy(self.model(features), labels)
            self.optimizer.backward_step(loss)
            losses.append(loss.to_vec0())
            if log is not None:
                log(
                    f"Epoch: {self.epoch + 1:03d}/{cfg.epochs:03d} | Batch {b + 1:03d}/{total:03d}"
                    f" | Train Loss: {losses[-1]:.2f}"
                )
        self.epoch += 1
        return losses

    def run_epoch(self, log) -> dict:
        """``train_epoch``, then the epoch's metrics (added to the history)."""
        losses = self.train_epoch(log)
        row = {"epoch": self.epoch, "train_loss": float(np.mean(losses))}
        row["train_accuracy"] = self.evaluate(self.train, self.x_train)[1]
        if self.test is not None:
            row["test_loss"], row["test_accuracy"], _ = self.evaluate(self.test, self.x_test)
        self.history.append(row)
        return row

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


def _epoch_line(row: dict, epochs: int) -> str:
    text = (
        f"Epoch: {row['epoch']:03d}/{epochs:03d} | Train Loss: {row['train_loss']:.2f}"
        f" | Train Acc: {row['train_accuracy']:.4f}"
    )
    if "test_accuracy" in row:
        text += f" | Test Acc: {row['test_accuracy']:.4f}"
    return text


def _print_header(run: Run) -> None:
    cfg, spec, train = run.cfg, run.spec, run.train
    params = sum(v.elem_count() for v in run.varmap.all_vars())
    opt = "SGD" if cfg.optimizer == "sgd" else "AdamW"
    batches = "shuffled" + (", drop_last" if cfg.drop_last else "")
    if cfg.data is None:
        print(
            'wick train: the tutorial\'s job ("Neural Networks with Candle", Appendix A of '
            "Build a Large\nLanguage Model (From Scratch)): a small network learns a toy "
            "dataset.\n"
        )
        print(
            f"data      the tutorial's toy set: {len(train)} training and {len(run.test)} test "
            f"examples"
        )
        print("features  2: x1, x2\nclasses   2: 0, 1")
    else:
        name = csvdata.resolve(cfg.data)[1] if cfg.data in csvdata.datasets.BUILTIN else cfg.data
        print(f"wick train: an MLP classifier for {spec.target!r} in {name}\n")
        n = len(train) + (len(run.test) if run.test is not None and cfg.test is None else 0)
        std = "standardised" if cfg.standardize else "used as they are"
        print(f"data      {n} rows; {run.split_text}")
        print(f"features  {len(spec.features)}, {std}: {_short(spec.features)}")
        print(f"classes   {len(spec.classes)}: {_short(spec.classes)}")
    print(f"model     {spec.describe()}, {params:,} parameters")
    print(
        f"training  {opt} lr {cfg.lr:g}, batch size {cfg.batch_size}, {batches}, "
        f"{cfg.epochs} epochs, seed {cfg.seed}, {run.device}"
    )
    print(flush=True)


def _short(names: list, limit: int = 6) -> str:
    shown = ", ".join(names[:limit])
    return shown + (f", ... ({len(names) - limit} more)" if len(names) > limit else "")


def _terminal_reports_size(stream) -> bool:
    try:
        size = os.get_terminal_size(stream.fileno())
    except (OSError, ValueError, AttributeError):
        return False
    return size.columns > 0 and size.lines > 0


def _train_loop(run: Run, ckpt_path: str | None) -> None:
    from tqdm import tqdm

    cfg = run.cfg
    per_batch = cfg.epochs * run.loader.total_batches() <= PER_BATCH_LOG_LIMIT
    every = max(1, cfg.epochs // 10)
    bar = None
    if not per_batch:
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
            if ckpt_path is not None and (last or now - saved >= CHECKPOINT_SECONDS):
                checkpoint.save(
                    ckpt_path, run.varmap, run.optimizer, run.state(), run.spec.to_metadata()
                )
                saved, run.checkpointed = now, run.epoch
            if bar is not None:
                bar.update(1)
                acc = f"{row['train_accuracy']:.3f}"
                bar.set_postfix(loss=f"{row['train_loss']:.3f}", acc=acc, refresh=False)
            if not per_batch and (run.epoch % every == 0 or run.epoch == cfg.epochs):
                log(_epoch_line(row, cfg.epochs))
            sys.stdout.flush()
    finally:
        if bar is not None:
            bar.close()


def _final_report(run: Run) -> dict:
    rows, results = [], {}
    for name, labeled, x in (("train", run.train, run.x_train), ("test", run.test, run.x_test)):
        if labeled is None:
            continue
        loss, acc, _ = run.evaluate(labeled, x)
        results[name] = acc
        rows.append([name, len(labeled), f"{loss:.4f}", fmt(acc)])
    print()
    print(table(["", "examples", "loss", "accuracy"], rows))
    return results


def run(args) -> int:
    """The ``wick train`` command."""
    if args.test is not None and args.test_fraction is not None:
        raise CliError("--test and --test-fraction exclude each other: a test file or a split")
    state = checkpoint.read_state(args.resume) if args.resume else None
    cfg = _config_from_checkpoint(args, state) if state else _config_from_args(args)
    _validate(cfg)
    out = args.out or "model.safetensors"
    csvdata.check_writable(out, "model")
    ckpt = args.checkpoint or args.resume  # a resumed run keeps saving to its checkpoint
    if ckpt:
        csvdata.check_writable(ckpt, "checkpoint")
    if args.plot:
        from .plot import require_matplotlib

        require_matplotlib(args.plot)
        csvdata.check_writable(args.plot, "plot")
    run_ = Run(cfg, out)
    if state:
        if run_.hashes != state["sha256"]:
            raise CliError("the data files differ from those the checkpoint was trained on")
        if state["epoch"] > cfg.epochs:
            raise CliError(
                f"the checkpoint is at epoch {state['epoch']}, past --epochs {cfg.epochs}"
            )
        checkpoint.restore(args.resume, run_.varmap, run_.optimizer)
        run_.epoch, run_.history = state["epoch"], state["history"]
    _print_header(run_)
    if state:
        print(f"resumed   {args.resume} at epoch {run_.epoch}\n")
    started = time.perf_counter()
    try:
        _train_loop(run_, ckpt)
    except KeyboardInterrupt:
        if run_.checkpointed is not None:
            print(
                f"\nwick: interrupted; {ckpt} holds epoch {run_.checkpointed}. "
                f"Continue with: wick train --resume {ckpt}",
                file=sys.stderr,
            )
        elif ckpt:
            print("\nwick: interrupted before the first checkpoint; nothing saved", file=sys.stderr)
        else:
            print(
                "\nwick: interrupted; nothing saved (pass --checkpoint PATH to be able to resume)",
                file=sys.stderr,
            )
        return 130
    seconds = time.perf_counter() - started
    results = _final_report(run_)
    run_.spec.training = {
        "data": cfg.data or "tutorial toy set",
        "epochs": cfg.epochs,
        "optimizer": cfg.optimizer,
        "lr": cfg.lr,
        "batch_size": cfg.batch_size,
        "seed": cfg.seed,
        **{f"{k}_accuracy": v for k, v in results.items()},
    }
    model.save(run_.varmap, run_.spec, out)
    print(f"\ntrained   in {seconds:.2f} s")
    print(f"saved     {out}")
    _confirm_reload(run_, out, results)
    if args.plot:
        from .plot import save_curves

        save_curves(run_.history, args.plot, run_.spec.target)
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


def _confirm_reload(run: Run, out: str, results: dict) -> None:
    loaded, spec = model.load(out, run.device)
    again = {}
    for name, labeled in (("train", run.train), ("test", run.test)):
        if labeled is not None:
            pred = model.predict(loaded, spec.standardizer.apply(labeled.x), run.device)
            again[name] = accuracy(pred, labeled.y)
    shown = ", ".join(f"{k} accuracy {fmt(v)}" for k, v in again.items())
    if again != results:
        raise CliError(f"reloading {out} gave different accuracies ({shown})")
    print(f"reloaded  {out}: {shown}, as before saving")

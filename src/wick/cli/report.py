"""What ``wick train`` prints: the header describing the run, epoch lines, the final table."""

from __future__ import annotations

from . import csvdata
from .metrics import fmt, table


def epoch_line(row: dict, epochs: int, task) -> str:
    """``Epoch: 004/040 | Train Loss: 0.31 | Train Acc: 0.9000 | Test Acc: 0.8667``."""
    key = task.headline
    text = (
        f"Epoch: {row['epoch']:03d}/{epochs:03d} | Train Loss: {row['train_loss']:.2f}"
        f" | Train {task.shown}: {fmt(row[f'train_{key}'])}"
    )
    if f"test_{key}" in row:
        text += f" | Test {task.shown}: {fmt(row[f'test_{key}'])}"
    return text


def short(names: list, limit: int = 6) -> str:
    shown = ", ".join(names[:limit])
    return shown + (f", ... ({len(names) - limit} more)" if len(names) > limit else "")


def header(run) -> None:
    """The lines before training: data, features, classes, model, training settings."""
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
        print(f"wick train: {run.task.describe(spec)} in {name}\n")
        n = run.n_rows
        std = "standardised" if cfg.standardize else "used as they are"
        print(f"data      {n} rows; {run.split_text}")
        print(f"features  {len(spec.features)}, {std}: {short(spec.features)}")
        if spec.regression:
            scale = spec.target_scale
            print(
                f"target    a number, mean {scale.mean[0]:.6g}, std {scale.std[0]:.6g} "
                "(learned standardised)"
            )
        else:
            print(f"classes   {len(spec.classes)}: {short(spec.classes)}")
    print(f"model     {spec.describe()}, {params:,} parameters")
    print(
        f"training  {opt} lr {cfg.lr:g}, batch size {cfg.batch_size}, {batches}, "
        f"{cfg.epochs} epochs, seed {cfg.seed}, {run.device}"
    )
    print(flush=True)


def final_table(run) -> dict:
    """Prints loss and scores of the training and test sets; returns the scores by set."""
    rows, results = [], {}
    for name, labeled, x in (("train", run.train, run.x_train), ("test", run.test, run.x_test)):
        if labeled is None:
            continue
        loss, scores, _ = run.evaluate(labeled, x)
        results[name] = scores
        rows.append([name, len(labeled), f"{loss:.4f}", *run.task.cells(scores)])
    print()
    print(table(["", "examples", *run.task.columns], rows))
    return results

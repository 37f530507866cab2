"""wick.nn: candle-nn in Python (layers, VarBuilder/VarMap, ops, losses, optimizers)."""

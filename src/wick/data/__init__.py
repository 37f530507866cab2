"""wick.data: datasets and a DataLoader (Candle has none; the tutorial writes one, wick ships it)."""

from .dataset import Dataset, TensorDataset
from .loader import DataLoader

__all__ = ["Dataset", "TensorDataset", "DataLoader"]

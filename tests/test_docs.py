"""The docs cannot rot: every ``>>>`` example in README.md and docs/*.md runs and prints what the
page says; every other ``python`` block at least compiles; no page points outside the clone."""

import doctest
import os
import re
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _read(page: str) -> str:
    with open(os.path.join(ROOT, page), encoding="utf-8") as f:
        return f.read()


PAGES = ["README.md"] + sorted(
    os.path.join("docs", name)
    for name in os.listdir(os.path.join(ROOT, "docs"))
    if name.endswith(".md")
)
FENCE = re.compile(r"^```(\S*)[^\n]*\n(.*?)^```[ \t]*$", re.M | re.S)
LINK = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")


def _blocks(text: str) -> list:
    """``(language, first line number, body)`` of each fenced block."""
    return [
        (m.group(1), text.count("\n", 0, m.start(2)) + 1, m.group(2)) for m in FENCE.finditer(text)
    ]


def _examples_only(text: str) -> str:
    """The page with everything outside fenced ``>>>`` blocks blanked, line numbers kept."""
    lines = [""] * (text.count("\n") + 1)
    for _, first, body in _blocks(text):
        if ">>>" in body:
            for i, line in enumerate(body.split("\n")):
                lines[first - 1 + i] = line
    return "\n".join(lines)


@pytest.mark.parametrize("page", [p for p in PAGES if ">>>" in _read(p)])
def test_examples_run_and_print_what_the_page_says(page, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # examples that save files write here
    text = _examples_only(_read(page))
    test = doctest.DocTestParser().get_doctest(text, {}, page, os.path.join(ROOT, page), 0)
    assert test.examples, f"{page}: no >>> example inside a fenced block"
    report = []
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    try:
        runner.run(test, out=report.append)
    finally:
        import wick

        wick.set_print_options_default()  # a page that changes them must not leak into others
    assert runner.failures == 0, "".join(report)


@pytest.mark.parametrize("page", PAGES)
def test_other_python_blocks_compile(page):
    for lang, first, body in _blocks(_read(page)):
        if lang == "python" and ">>>" not in body:
            compile(body, f"{page}:{first}", "exec")


@pytest.mark.parametrize("page", PAGES)
def test_pages_point_only_inside_the_clone(page):
    text = _read(page)
    assert "../shared" not in text and "/work/" not in text
    folder = os.path.dirname(os.path.join(ROOT, page))
    for target in LINK.findall(text):
        if "://" in target or target.startswith("mailto:"):
            continue
        assert os.path.exists(os.path.join(folder, target)), f"{page} links to missing {target}"


def test_the_internal_notes_are_gone():
    assert not os.path.exists(os.path.join(ROOT, "docs", "HELPERS.md"))


def test_the_readme_says_what_the_tutorial_script_prints_with_seed_3(tmp_path):
    done = subprocess.run(
        [sys.executable, os.path.join(ROOT, "examples", "tutorial.py"), "--seed", "3"],
        cwd=tmp_path,
        env=dict(os.environ, PYTHONPATH=os.path.join(ROOT, "src")),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    readme = " ".join(_read("README.md").split())
    claimed = re.search(r"`--seed 3` logs ([0-9. ]+?);", readme).group(1).split()
    assert re.findall(r"Train Loss: (\S+)", done.stdout) == claimed
    lines = done.stdout.splitlines()
    for line in ["[-0.0898]", "[-0.0817]", "[0.0852]", "[0, 0, 0, 1, 1]", "[5]", "Tensor[[], u8]"]:
        assert line in lines and f"`{line}`" in readme, line
    assert "Total number of trainable model parameters: 2213" in lines
    assert [line for line in lines if line in ("U8", "F64", "F32")] == [
        "U8",
        "F64",
        "F64",
        "F32",
        "U8",
    ]

"""The docs stay true: every `charlm ...` command line in README.md and docs/*.md names a
command and options that exist, every config key they mention exists, the README's install
and test commands are what .ci/run runs, and the Python walk-through in docs/api.md runs."""

import re
import shlex
from pathlib import Path

import pytest
import typer.main

from charlm.cli import app
from charlm.run import config

ROOT = Path(__file__).parent.parent
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
KEY = re.compile(r"(?<![\w/.-])(model|data|train|output)\.([a-z_]+)\b(?![./(])")
FILES = {"py", "safetensors", "npz", "yaml", "jsonl", "txt", "png", "html", "md"}  # train.py


def command_tree():
    """{('train',): {'--set', ...}, ('corpus', 'make'): {...}, ...}: each command's options."""
    found = {}

    def walk(cmd, words):
        if hasattr(cmd, "commands"):
            found[tuple(words)] = {"--help"} | ({"--version"} if not words else set())
            for name, sub in cmd.commands.items():
                walk(sub, [*words, name])
            return
        options = {"--help"}
        for p in cmd.params:
            options.update(getattr(p, "opts", []))
            options.update(getattr(p, "secondary_opts", []))
        found[tuple(words)] = {o for o in options if o.startswith("-")}

    walk(typer.main.get_command(app), [])
    return found


def command_lines(text):
    """Every charlm command line: in code blocks (a `$ ` prompt or none; `\\` continuations
    joined) and in inline code spans."""
    lines = []
    for block in re.findall(r"```[a-z]*\n(.*?)```", text, re.S):
        block = block.replace("\\\n", " ")
        prompted = any(line.startswith("$ ") for line in block.splitlines())
        for line in block.splitlines():
            if prompted and not line.startswith("$ "):
                continue  # the output of a command, not a command
            line = line.removeprefix("$ ").strip()
            if line.startswith("charlm "):
                lines.append(line.split("#")[0] if " #" in line else line)
    lines += re.findall(r"`(charlm [^`]+)`", text)
    return lines


def words_of(line):
    try:
        return shlex.split(line)[1:]
    except ValueError:  # an unclosed quote in an example with "..."
        return line.split()[1:]


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_every_command_line_uses_commands_and_options_that_exist(page):
    tree = command_tree()
    checked = 0
    for line in command_lines(page.read_text(encoding="utf-8")):
        words = words_of(line)
        path = ()
        while words and (*path, words[0]) in tree:
            path, words = (*path, words[0]), words[1:]
        if not path and words and not words[0].startswith("-"):
            pytest.fail(f"{page.name}: `{line}`: no command {words[0]!r}")
        for word in words:
            option = word.split("=")[0]
            if option.startswith("--") and option not in tree[path]:
                pytest.fail(f"{page.name}: `{line}`: charlm {' '.join(path)} has no {option}")
        for key, value in zip(words, words[1:], strict=False):
            if key == "--set" and "=" in value:
                assert KEY.fullmatch(value.split("=")[0]), f"{page.name}: `{line}`: {value}"
        checked += 1
    assert checked > 0 or page.name not in ("README.md", "usage.md")


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_every_config_key_mentioned_exists(page):
    keys = {f"{s}.{f}" for s, cls in config.SECTIONS.items() for f in cls.__dataclass_fields__}
    text = re.sub(r"unknown key '[^']*'", "", page.read_text(encoding="utf-8"))  # a typo shown
    for section, name in KEY.findall(text):
        if name in FILES:
            continue  # a file name such as train.py or model.safetensors
        assert f"{section}.{name}" in keys, f"{page.name}: {section}.{name} is not a config key"


def test_the_readme_install_and_test_commands_are_what_ci_runs():
    readme, ci = (ROOT / "README.md").read_text(), (ROOT / ".ci" / "run").read_text()
    assert 'pip install -e ".[test]" && python -m pytest' in readme
    assert 'pip install -q -e ".[test]"' in ci and "python -m pytest" in ci
    assert "pip install -e .\n" in readme


def test_the_api_walk_through_runs(tmp_path, monkeypatch):
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    monkeypatch.chdir(tmp_path)
    text = (ROOT / "docs" / "api.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```python\n(.*?)```", text, re.S)
    assert len(blocks) >= 5
    namespace = {}
    for block in blocks:
        exec(compile(block, "docs/api.md", "exec"), namespace)  # noqa: S102
    assert namespace["model"].step == 200 and (tmp_path / "checkpoints" / "notebook").is_dir()
    assert (tmp_path / "metrics.png").read_bytes().startswith(b"\x89PNG")
    assert list(namespace["found"].found) == ["space"] and len(namespace["ranked"]) == 5
    assert [f.name.split()[0] for f in namespace["flows"]][1:] == ["fresh"]
    assert namespace["page"] == Path("checkpoints/notebook/report.html")
    assert "charlm report: notebook" in namespace["page"].read_text(encoding="utf-8")


PACKAGE = ROOT / "charlm"
LAYERS = {  # top to bottom: a module imports only from its own layer or those below it
    "cli": 4,
    "api": 3,
    "__init__": 3,
    "run": 2,
    "inspect": 2,
    "reporting": 2,
    "sample": 2,
    "handoff": 2,
    "tune": 2,
    "server": 2,
    "nn": 1,
    "files": 0,
    "pages": 0,
    "memory": 0,
    "errors": 0,
}


def layer_of(module):
    """'charlm.run.train' -> 2 (its first part below charlm names its layer)."""
    parts = module.split(".")
    return LAYERS[parts[1] if len(parts) > 1 else "__init__"]


def modules():
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(ROOT).with_suffix("")
        yield path, ".".join(rel.parts).removesuffix(".__init__")


def test_no_import_runs_up_a_layer():
    import ast

    for path, name in modules():
        if name in ("charlm", "charlm.__main__"):
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.ImportFrom)
                and node.module
                and node.module.startswith("charlm")
            ):
                targets = [node.module] if node.module != "charlm" else [
                    f"charlm.{a.name}" for a in node.names if a.name != "__version__"
                ]  # fmt: skip
            elif isinstance(node, ast.Import):
                targets = [a.name for a in node.names if a.name.startswith("charlm.")]
            else:
                continue
            for target in targets:
                assert layer_of(target) <= layer_of(name), f"{name} imports {target}"


def test_the_layout_section_names_every_module_and_none_is_long():
    layout = (ROOT / "README.md").read_text(encoding="utf-8").split("## Layout", 1)[1]
    layout = layout.split("```")[1]
    for path, _ in modules():
        if path.name in ("__init__.py", "__main__.py") and path.parent != PACKAGE:
            continue
        assert path.name in layout, f"README's Layout does not name {path.relative_to(ROOT)}"
        lines = len(path.read_text(encoding="utf-8").splitlines())
        assert lines <= 320, f"{path.relative_to(ROOT)} has {lines} lines (about 300 at most)"

"""The docs are part of the product: every command and option documented, examples run."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from typing import Any

import typer.main

from tracegraph.cli import app

from .conftest import ROOT


def _commands() -> dict[str, Any]:
    group: Any = typer.main.get_command(app)
    return dict(group.commands)


def test_every_command_and_option_is_in_docs_cli_md() -> None:
    text = (ROOT / "docs" / "cli.md").read_text()
    for name, command in _commands().items():
        assert f"## `tracegraph {name}" in text, f"docs/cli.md lacks a section for {name}"
        section = text.split(f"## `tracegraph {name}")[1].split("\n## ")[0]
        for param in command.params:
            for option in getattr(param, "opts", []):
                if option.startswith("--") and option != "--help":
                    assert f"`{option}`" in section, f"{name} {option} is undocumented"
        assert "```sh" in section, f"docs/cli.md has no example for {name}"


def test_the_readme_opens_with_the_two_commands_and_ci_runs_the_second() -> None:
    readme = (ROOT / "README.md").read_text()
    blocks = re.findall(r"```sh\n(.+?)\n```", readme, flags=re.S)
    run, test = blocks[0], blocks[1]
    assert run.endswith("tracegraph demo")  # issue 8: a decision trail within a minute
    assert "pytest" in test
    assert test in (ROOT / ".ci" / "run").read_text()


def test_the_readme_python_example_runs(tmp_path: Path) -> None:
    readme = (ROOT / "README.md").read_text()
    code = re.findall(r"```python\n(.+?)\n```", readme, flags=re.S)[0]
    db = tmp_path / "tracegraph.db"
    subprocess.run([sys.executable, "-m", "tracegraph.cli", "import",
                    str(ROOT / "fixtures" / "native"), "--db", str(db), "-q"], check=True,
                   capture_output=True)
    lines = code.replace('"tracegraph.db"', repr(str(db))).splitlines()
    *body, last = lines
    expression, _, expected = last.partition("#")
    namespace: dict[str, object] = {}
    exec("\n".join(body), namespace)
    assert repr(eval(expression, namespace)) == expected.strip()


def test_every_format_doc_the_readme_links_exists() -> None:
    readme = (ROOT / "README.md").read_text()
    for link in re.findall(r"\]\(((?:docs|tracegraph)/[^)]+)\)", readme):
        assert (ROOT / link).exists(), link

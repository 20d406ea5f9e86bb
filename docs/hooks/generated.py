"""MkDocs hook: text that the code itself knows, written into the pages where they ask for it.

- ``<!-- autograd-tiny SUBCOMMAND --help -->``: what that command prints (argparse's help, at a
  fixed width), so the page lists every option and default as the command has them today;
- ``<!-- the package's files -->``: every module of the package with the first sentence of its
  docstring, the package's own folder first.
"""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
from pathlib import Path

from mkdocs.exceptions import PluginError

ROOT = Path(__file__).resolve().parents[2]
HELP = re.compile(r"^<!-- autograd-tiny (\w+) --help -->$", flags=re.M)
FILES = "<!-- the package's files -->"


def help_text(subcommand: str) -> str:
    """What `autograd-tiny SUBCOMMAND --help` prints, 100 columns wide."""
    run = subprocess.run([sys.executable, "-m", "autograd_tiny", subcommand, "--help"], capture_output=True,
                         text=True, timeout=60, env={**os.environ, "COLUMNS": "100"})  # fmt: skip
    if run.returncode != 0 or not run.stdout.startswith("usage:"):
        raise PluginError(f"generated: autograd-tiny {subcommand} --help failed: {run.stderr.strip()}")
    return run.stdout.rstrip()


def package_files() -> str:
    """A table: each module of autograd_tiny/ and the first sentence of its docstring."""
    rows = ["| file | what it holds |", "|---|---|"]
    package = ROOT / "autograd_tiny"
    for path in sorted(package.rglob("*.py"), key=lambda p: (len(p.relative_to(package).parts), str(p))):
        doc = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))) or ""
        first = " ".join(doc.split("\n\n")[0].split())
        first = re.split(r"(?<=\.) (?=[A-Z])", first)[0].replace("|", "\\|")  # its first sentence
        rows.append(f"| `{path.relative_to(package).as_posix()}` | {first} |")
    return "\n".join(rows)


def on_page_markdown(markdown: str, page, config, files) -> str:
    markdown = HELP.sub(lambda m: f"```text\n{help_text(m.group(1))}\n```", markdown)
    if FILES in markdown:
        markdown = markdown.replace(FILES, package_files())
    return markdown

"""MkDocs hook: one lesson page per notebook in notebooks/, run when the site is built.

Each notebook is executed (two at a time, with nbclient, in the notebooks' folder as the tests
run them), so that every picture, explorer and training view on the site is what the code makes
today. An executed notebook is kept in .cache/lessons/ under a hash of the notebook and of the
package's files, so a rebuild with neither changed does not run it again.

A notebook becomes Markdown: its text cells as written (math and links work as on every page),
code cells as Python blocks, a cell whose source is hidden in Jupyter (the solutions) folded,
and the outputs after each cell: text as text, pictures as files beside the page, HTML (the
explorer, the practice pages, the training view: self-contained iframes) as it is. The page opens
with what the lesson teaches, taken from the README's learning path (one line per notebook, the
one place it is written), and a link to download the notebook.
"""

from __future__ import annotations

import base64
import hashlib
import html
import logging
import os
import posixpath
import re
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from mkdocs.exceptions import PluginError
from mkdocs.plugins import event_priority
from mkdocs.structure.files import File, Files

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = ROOT / "notebooks"
CACHE = ROOT / ".cache" / "lessons"
SECTION = "Lessons"  # the nav entry that gets one page per notebook
OUTPUT = "lesson-output-{}"  # a placeholder paragraph in the Markdown, replaced by raw HTML
log = logging.getLogger("mkdocs.hooks.lessons")
LIST = "<!-- the lessons -->"  # in lessons.md: replaced by one line per lesson
_html_outputs: dict[str, dict[str, str]] = {}  # page's src_uri -> placeholder -> HTML
_titles: dict[str, str] = {}  # notebook name -> its title (its first heading)


def notebooks() -> list[Path]:
    """The lessons, in the order of their file names (01_..., 02_...)."""
    return sorted(NOTEBOOKS.glob("[0-9]*.ipynb"))


def learning_path() -> dict[str, str]:
    """What each lesson teaches, by its number ("01"): its line in the README's learning path,
    ``- [title](notebooks/NAME.ipynb): what it teaches``."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    found = re.findall(r"^[-*] \[[^\]]*\]\(notebooks/(\d+)[^)/]*\.ipynb\):?\s*(.+)$", readme, flags=re.M)
    return {number: what.strip() for number, what in found}


def number(name: str) -> str:
    return name.split("_")[0]


# ---------------------------------------------------------------------- the nav


def on_config(config):
    """Put one page per notebook under the Lessons entry of the nav, after the pages it lists."""
    for entry in config.nav or []:
        if isinstance(entry, dict) and SECTION in entry:
            pages = [p for p in entry[SECTION] if not str(p).startswith("lessons/")]
            entry[SECTION] = pages + [f"lessons/{nb.stem}.md" for nb in notebooks()]
            return config
    raise PluginError(f"lessons: mkdocs.yml's nav has no {SECTION!r} entry to put the lessons under")


# ---------------------------------------------------------------------- running the notebooks


def _key(notebook: Path) -> str:
    """A hash of what the executed notebook depends on: itself, the package and Python."""
    h = hashlib.sha256(notebook.read_bytes())
    for path in sorted((ROOT / "autograd_tiny").rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts:
            h.update(str(path.relative_to(ROOT)).encode())
            h.update(path.read_bytes())
    h.update(sys.version.encode())
    return h.hexdigest()[:20]


def _execute(notebook: Path):
    """The notebook run top to bottom, from the cache when it holds this version."""
    import nbformat
    from nbclient import NotebookClient

    cached = CACHE / f"{notebook.stem}-{_key(notebook)}.ipynb"
    if cached.exists():
        return nbformat.read(cached, as_version=4)
    nb = nbformat.read(notebook, as_version=4)
    log.info("lessons: running %s", notebook.name)
    try:
        NotebookClient(nb, timeout=600, kernel_name="python3",
                       resources={"metadata": {"path": str(NOTEBOOKS)}}).execute()  # fmt: skip
    except Exception as error:  # a lesson that fails to run fails the build, saying where
        raise PluginError(f"lessons: {notebook.name} failed to run: {error}") from error
    CACHE.mkdir(parents=True, exist_ok=True)
    for old in CACHE.glob(f"{notebook.stem}-*.ipynb"):
        old.unlink()
    partial = cached.with_suffix(".tmp")
    nbformat.write(nb, partial)
    partial.replace(cached)  # whole or not at all
    return nb


@event_priority(50)  # before the search index and the pages are read
def on_files(files: Files, config) -> Files:
    """Run the notebooks and add their pages, pictures and sources to the site."""
    paths = notebooks()
    summaries = learning_path()
    with ThreadPoolExecutor(max_workers=max(1, min(2, os.cpu_count() or 1))) as pool:
        executed = list(pool.map(_execute, paths))
    names = {p.stem for p in paths}
    _html_outputs.clear()
    _titles.clear()
    for path, nb in zip(paths, executed):
        summary = summaries.get(number(path.stem), "")
        if not summary:
            log.warning("lessons: README.md's learning path has no line for %s", path.name)
        markdown, pictures, outputs = lesson(nb, path.stem, summary, names)
        _titles[path.stem] = markdown.partition("\n")[0].removeprefix("# ")
        src = f"lessons/{path.stem}.md"
        _html_outputs[src] = outputs
        files.append(File.generated(config, src, content=markdown))
        files.append(File.generated(config, f"lessons/{path.name}", abs_src_path=str(path)))
        for name, data in pictures.items():
            files.append(File.generated(config, f"lessons/{path.stem}/{name}", content=data))
    return files


def on_page_markdown(markdown: str, page, config, files) -> str:
    """In lessons.md, the list of lessons: each one's title and what it teaches."""
    if page.file.src_uri != "lessons.md":
        return markdown
    if LIST not in markdown:
        raise PluginError(f"lessons: lessons.md has lost its {LIST!r} line, where the list goes")
    summaries = learning_path()
    lines = [f"- [{title}](lessons/{name}.md): {summaries.get(number(name), '')}" for name, title in _titles.items()]
    return markdown.replace(LIST, "\n".join(lines))


def on_page_content(html_text: str, page, config, files) -> str:
    """Put each output's HTML where its placeholder paragraph stands."""
    outputs = _html_outputs.get(page.file.src_uri)
    if not outputs:
        return html_text
    return re.sub(r"<p>(lesson-output-\d+)</p>", lambda m: outputs[m.group(1)], html_text)


# ---------------------------------------------------------------------- a notebook as a page


def lesson(nb, name: str, summary: str, names: set[str]) -> tuple[str, dict[str, bytes], dict[str, str]]:
    """The page's Markdown, its pictures (file name -> bytes) and its HTML outputs."""
    parts: list[str] = []
    pictures: dict[str, bytes] = {}
    outputs: dict[str, str] = {}
    header_done = False
    for index, cell in enumerate(nb.cells):
        if cell.cell_type == "markdown":
            text = _links(cell.source, names)
            if not header_done:
                text = _with_header(text, name, summary)
                header_done = True
            parts.append(text)
        elif cell.cell_type == "code" and cell.source.strip():
            fence = "`" * max(3, 1 + max((len(r) for r in re.findall(r"`+", cell.source)), default=0))
            code = f"{fence}python\n{cell.source}\n{fence}"
            if cell.get("metadata", {}).get("jupyter", {}).get("source_hidden"):
                code = '??? note "The code (hidden in the notebook: open it when you are ready)"\n\n' + _indent(code)
            parts.append(code)
            for k, output in enumerate(cell.get("outputs", [])):
                shown = _output(output, f"cell{index}-{k}", pictures, name)
                if shown:
                    key = OUTPUT.format(len(outputs))
                    outputs[key] = f'<div class="lesson-output">{shown}</div>'
                    parts.append(key)
    if not header_done:
        parts.insert(0, _with_header(f"# {name}", name, summary))
    return "\n\n".join(parts) + "\n", pictures, outputs


def _with_header(text: str, name: str, summary: str) -> str:
    """The first text cell with, after its title, what the lesson teaches and its download."""
    title, _, rest = text.partition("\n")
    if not title.startswith("# "):
        title, rest = f"# {name}", text
    learn = f"**What you will learn:** {summary[:1].upper()}{summary[1:]}\n\n" if summary else ""
    box = (
        '!!! abstract "This lesson"\n\n'
        + _indent(
            learn + f"**The notebook:** [{name}.ipynb]({name}.ipynb){{: download }}, to run it yourself "
            "(`pip install -e '.[notebooks]'`, then `jupyter lab`). Everything below it printed or drew "
            "was made by running it when this site was built."
        )
    )
    return f"{title}\n\n{box}\n\n{rest.lstrip()}"


def _indent(text: str) -> str:
    return "\n".join(f"    {line}" if line.strip() else "" for line in text.splitlines())


def _links(text: str, names: set[str]) -> str:
    """Links as the site needs them: another notebook is its lesson page, docs/X is the site's X;
    a link to any other file of the repository (not on the site) becomes its text."""

    def fix(m: re.Match) -> str:
        bang, label, target = m.group(1), m.group(2), m.group(3)
        if re.match(r"[a-z][a-z0-9+.-]*:|#", target):  # a URL, or an anchor on this page
            return m.group(0)
        path, _, anchor = target.partition("#")
        where = posixpath.normpath(posixpath.join("notebooks", path))
        if where.startswith("notebooks/") and where.endswith(".ipynb") and Path(where).stem in names:
            new = f"{Path(where).stem}.md"
        elif where.startswith("docs/"):
            new = "../" + where.removeprefix("docs/")
        else:
            log.info("lessons: a link to %s, which is not on the site, is shown as text", target)
            return label if not bang else ""
        return f"{bang}[{label}]({new}{'#' + anchor if anchor else ''})"

    return re.sub(r"(!?)\[([^\]]*)\]\(([^)\s]+)\)", fix, text)


def _output(output, stem: str, pictures: dict[str, bytes], name: str) -> str:
    """One output as HTML (pictures are written beside the page), or '' for nothing to show."""
    kind = output.get("output_type")
    if kind == "stream":
        text = output.get("text", "")
        css = "lesson-stderr" if output.get("name") == "stderr" else "lesson-stdout"
        return f'<pre class="{css}">{html.escape(text.rstrip())}</pre>' if text.strip() else ""
    if kind == "error":  # only with errors allowed; shown as the notebook shows it
        text = re.sub(r"\x1b\[[0-9;]*m", "", "\n".join(output.get("traceback", [])))
        return f'<pre class="lesson-stderr">{html.escape(text)}</pre>'
    data = output.get("data", {})
    if "text/html" in data:
        return data["text/html"]
    for mime, ext in (("image/svg+xml", "svg"), ("image/png", "png"), ("image/gif", "gif"), ("image/jpeg", "jpg")):
        if mime in data:
            raw = data[mime]
            pictures[f"{stem}.{ext}"] = raw.encode() if ext == "svg" else base64.b64decode(raw)
            alt = html.escape(data.get("text/plain", "").strip() or f"output of {name}", quote=True)
            return f'<img src="{name}/{stem}.{ext}" alt="{alt}" loading="lazy">'
    if "text/plain" in data:
        return f'<pre class="lesson-result">{html.escape(data["text/plain"])}</pre>'
    return ""

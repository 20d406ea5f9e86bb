"""The explorer's bars, measured: build time, file size and step time in Chromium.

The graph: one sample through MLP(2, [16, 16, 1]) and its hinge loss, drawn one box per neuron.
Each figure is printed beside a baseline measured in the same run:

* building the page (tracing, the steps, Graphviz's layout, the HTML) beside the static
  drawing alone (``draw_dot`` and ``dot -Tsvg``), which the page is built on;
* the page's size beside the size of that static SVG;
* one step in headless Chromium (from the key press until two animation frames later, so style,
  layout and paint are in), beside two bare animation frames in the same page.

    python benchmarks/bench_explore.py [--repeats 5]

The same for its practice page (``explore(..., practice=True)``): building it beside the plain
page, its size, and answering a step in Chromium (the right answers typed into the step's boxes,
from pressing Enter until painted: checked, revealed, and the next step shown).

Bars: built in under 2 s, a file under 2 MB, a step (or an answer) under 50 ms. The browser
part needs Playwright and Debian's chromium; without them it says so and skips it.
"""

from __future__ import annotations

import argparse
import contextlib
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from autograd_tiny import Value, draw_dot, explore, losses, nn

ARGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]  # fmt: skip


def graph(seed: int = 0):
    model = nn.MLP(2, [16, 16, 1], seed=seed)
    out = model([Value(0.5, label="x1"), Value(-1.0, label="x2")])
    return losses.hinge([out], [1]), model


def timed(fn, repeats: int) -> tuple[float, object]:
    best, result = float("inf"), None
    for _ in range(repeats):
        t0 = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - t0)
    return best, result


@contextlib.contextmanager
def opened(path: Path):
    """The page at `path` in headless Chromium, its script ready and the network cut off; None
    (and a line saying why) where Playwright or Chromium is missing."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        print("browser: skipped, Playwright is not installed (pip install playwright)")
        yield None
        return
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        print("browser: skipped, chromium is not installed (apt-get install chromium)")
        yield None
        return
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.route("**/*", lambda r: r.abort() if r.request.url.startswith("http") else r.continue_())
        page.goto(path.as_uri())
        page.wait_for_function("() => window.explorer !== undefined")
        try:
            yield page
        finally:
            browser.close()


def browser_steps(path: Path) -> tuple[list[float], list[float], list[float]] | None:
    """Each step forward then back: (until painted, the script's own time, two bare frames)."""
    with opened(path) as page:
        if page is None:
            return None
        measure = """async ([n, key]) => {
            const times = [], script = [];
            for (let i = 0; i < n; i++) {
                const t0 = performance.now();
                if (key) document.dispatchEvent(new KeyboardEvent("keydown", {key: key, bubbles: true}));
                await new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)));
                times.push(performance.now() - t0);
                script.push(window.explorer.lastStepMs);
            }
            return [times, script];
        }"""
        n = page.evaluate("() => window.explorer.steps") - 1
        (right, script_r), (left, script_l) = (
            page.evaluate(measure, [n, key]) for key in ("ArrowRight", "ArrowLeft")
        )
        frames, _ = page.evaluate(measure, [n, ""])
    return right + left, script_r + script_l, frames


ANSWER = """async () => {
    const ex = window.explorer, questions = ex.data.practice.questions, times = [], script = [];
    for (let guard = 0; guard < 10000 && ex.current() < ex.steps - 1; guard++) {
        const q = questions[ex.current()], boxes = document.querySelectorAll("#answers input");
        if (!q || !boxes.length) { ex.go(ex.current() + 1); continue; }
        q.inputs.forEach((item, k) => { boxes[k].value = String(item.answer); });
        const t0 = performance.now();
        document.getElementById("practice").requestSubmit();
        await new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)));
        times.push(performance.now() - t0);
        script.push(ex.lastCheckMs);
    }
    return [times, script, ex.current() === ex.steps - 1];
}"""


def browser_answers(path: Path) -> tuple[list[float], list[float]] | None:
    """Each question step of a practice page answered right: (until painted, the script's own time)."""
    with opened(path) as page:
        if page is None:
            return None
        times, script, finished = page.evaluate(ANSWER)
    if not finished:
        raise RuntimeError("bench_explore: the practice page did not reach its end")
    return times, script


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    loss, model = graph()

    static, svg = timed(
        lambda: draw_dot(loss, collapse="neuron", model=model).pipe(format="svg"), args.repeats
    )
    built, html = timed(lambda: explore(loss, model=model).html, args.repeats)
    print(f"MLP(2, [16, 16, 1]), one sample, hinge loss, one box per neuron (best of {args.repeats}):")
    print(
        f"  build the page       {built * 1000:7.0f} ms   (the static drawing alone: {static * 1000:.0f} ms)"
        "   bar: 2000 ms"
    )
    size = len(html.encode("utf-8"))
    print(
        f"  page size            {size / 1e6:7.2f} MB   (the static SVG alone: {len(svg) / 1e6:.2f} MB)"
        "   bar: 2 MB"
    )
    with tempfile.TemporaryDirectory() as folder:
        path = explore(loss, model=model).save(Path(folder) / "mlp.html")
        measured = browser_steps(path)
    if measured is not None:
        steps, script, frames = measured
        print(
            f"  one step in Chromium {statistics.median(steps):7.1f} ms median, {max(steps):.1f} ms worst of "
            f"{len(steps)}, until painted  (two bare frames: {statistics.median(frames):.1f} ms)  bar: 50 ms"
        )
        print(
            f"    of which the script {statistics.median(script):5.1f} ms median, {max(script):.1f} ms worst"
        )
    practiced, document = timed(lambda: explore(loss, model=model, practice=True).html, args.repeats)
    print("Its practice page:")
    print(f"  build the page       {practiced * 1000:7.0f} ms   (the plain page: {built * 1000:.0f} ms)"
          "   bar: 2000 ms")  # fmt: skip
    print(f"  page size            {len(document.encode('utf-8')) / 1e6:7.2f} MB   (the plain page: "
          f"{size / 1e6:.2f} MB)   bar: 2 MB")  # fmt: skip
    with tempfile.TemporaryDirectory() as folder:
        path = explore(loss, model=model, practice=True).save(Path(folder) / "practice.html")
        answered = browser_answers(path)
    if answered is not None:
        times, script = answered
        print(f"  answer a step        {statistics.median(times):7.1f} ms median, {max(times):.1f} ms worst of "
              f"{len(times)}, until painted  (two bare frames: as above)  bar: 50 ms")  # fmt: skip
        print(f"    of which the script {statistics.median(script):5.1f} ms median, {max(script):.1f} ms worst")


if __name__ == "__main__":
    main()

"""Regenerate the explorer's pictures in docs/ for the README: `python docs/make_explorer_pictures.py`.

* backward.gif: the backward pass through micrograd's lecture neuron, one frame per step, made
  by `autograd_tiny.save_animation` (needs Graphviz's `dot` and Pillow);
* explorer.png: the page of `autograd_tiny.explore` for the same neuron, at a backward step;
* training_view.png: the page of a `TrainingRecorder` over micrograd's moons demo.

The two screenshots are taken in headless Chromium (Debian's `chromium`, driven by Playwright),
offline; without them the script makes the GIF and says what it skipped.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from make_pictures import lecture_neuron  # the README's neuron, the same in every picture

from autograd_tiny import TrainingRecorder, data, explore, losses, nn, optim, save_animation

ARGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]  # fmt: skip


def report(path: Path) -> None:
    print(f"wrote {path.relative_to(HERE.parent)} ({path.stat().st_size // 1024} KB)")


def training_recorder() -> TrainingRecorder:
    """micrograd's demo (as notebook 03), recorded every other step."""
    X, y = data.moons(n=100, noise=0.1, seed=0)
    signs = data.signed_labels(y)
    model = nn.MLP(2, [16, 16, 1], seed=0)
    optimizer = optim.SGD(model.parameters(), lr=1.0)
    schedule = optim.LinearLR(optimizer, start_factor=1.0, end_factor=0.1, total_iters=100)
    # the page follows a point whose loss stays alive (it says which): no point= needed
    recorder = TrainingRecorder(
        model, X, y, every=2, point_loss=lambda s, i: losses.hinge([s], [signs[i]])
    )
    for _ in range(100):
        scores = [model(x) for x in X]
        loss = losses.hinge(scores, signs) + losses.l2(model.parameters(), 1e-4)
        accuracy = sum((s.data > 0) == (t > 0) for s, t in zip(scores, signs)) / len(signs)
        optimizer.zero_grad()
        loss.backward()
        recorder.record(loss, accuracy=accuracy)
        optimizer.step()
        schedule.step()
    return recorder


def screenshots() -> None:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        print("skipped the screenshots: Playwright is not installed (pip install playwright)")
        return
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        print("skipped the screenshots: chromium is not installed (apt-get install chromium)")
        return
    o, _ = lecture_neuron()
    with tempfile.TemporaryDirectory() as folder, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=ARGS)
        page = browser.new_page(viewport={"width": 1100, "height": 640}, device_scale_factor=1)
        page.route("**/*", lambda r: r.abort() if r.request.url.startswith("http") else r.continue_())
        page.goto(explore(o).save(Path(folder) / "explorer.html").as_uri())
        for _ in range(9):  # 5 forward steps, the seed, 3 backward: at add3 = x1*w1 + x2*w2
            page.keyboard.press("ArrowRight")
        path = HERE / "explorer.png"
        bottom = page.locator("#graph").bounding_box()
        page.screenshot(
            path=str(path), clip={"x": 0, "y": 0, "width": 1100, "height": bottom["y"] + bottom["height"] + 8}
        )
        report(path)
        page.set_viewport_size({"width": 1100, "height": 1000})
        page.goto(training_recorder().save(Path(folder) / "training.html").as_uri())
        page.keyboard.press("Home")
        for _ in range(12):  # early in training: the boundary still moving
            page.keyboard.press("ArrowRight")
        path = HERE / "training_view.png"
        page.screenshot(path=str(path), full_page=True)
        report(path)
        browser.close()


def main() -> None:
    o, _ = lecture_neuron()
    report(save_animation(o, HERE / "backward.gif", seconds_per_step=1.6))
    screenshots()


if __name__ == "__main__":
    main()

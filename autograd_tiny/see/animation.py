"""The backward pass as an animated GIF, for places where scripts don't run (a README, slides).

`save_animation` lays out the drawing of `explore`'s page once with Graphviz (its edge labels
included), and paints one frame per step of its backward pass with Pillow: the node being
visited in red, the edges to its inputs with their labels ``local × grad = contribution``, the
inputs' new grads, and the step's own sentences from the page as the caption. Every frame has
the same layout, so nothing jumps.

Pillow is imported when a GIF is made (it comes with matplotlib: ``pip install
'autograd_tiny[plot]'``); the text is set in matplotlib's DejaVu Sans when it is there.
"""

from __future__ import annotations

import io
import json
import math
import os
from collections.abc import Iterable
from itertools import pairwise
from pathlib import Path
from typing import Any

from .._files import write_atomically
from ..checks import check_real
from ..engine import Value
from .dot import layout
from .explorer import explore

__all__ = ["save_animation"]

INSTALL_HINT = "pip install pillow (it comes with matplotlib: pip install 'autograd_tiny[plot]')"
SCALE = 1.3  # pixels per Graphviz point (less for a drawing wider than MAX_WIDTH)
MAX_WIDTH = 1400  # pixels
SUPERSAMPLE = 2  # frames are painted this much larger, then shrunk: smooth lines and text
CAPTION_LINES = 4
RED, AMBER, LABEL = "#dc2626", "#f59e0b", "#9a3412"


def save_animation(
    root: Value,
    path: str | os.PathLike,
    *,
    model: Any = None,
    params: Iterable[Value] | None = None,
    seconds_per_step: float = 1.4,
    max_nodes: int | None = 200,
    legend: bool = False,
) -> Path:
    """Write an animated GIF of the backward pass of `root`'s graph: one frame per step.

    The first frame sets the output's grad to 1; each next one is one node in the order
    ``backward()`` visits it; the last one holds the final gradients. A leaf has nothing to
    propagate: its GIF is one frame, the leaf and why, as `explore` shows it. The numbers are those
    of `explore` (the engine's own local derivatives). The file appears complete or not at all.

    Args:
        root: the output.
        path: where to write the GIF.
        model, params: as for `explore` (a model is drawn one box per neuron).
        seconds_per_step: how long each frame shows (the last one three times as long).
        max_nodes: refuse graphs that draw more nodes than this.
        legend: draw the key of the kinds of value, as `draw_dot` does.

    Returns:
        the path written.

    Example:
        >>> from autograd_tiny import Value
        >>> a = Value(3.0, label="a")
        >>> save_animation(a * a, "backward.gif")  # doctest: +SKIP
        PosixPath('backward.gif')
    """
    seconds_per_step = check_real("save_animation", "seconds_per_step", seconds_per_step, low=0.02, high=60)
    try:
        from PIL import Image
    except ImportError:
        raise ModuleNotFoundError(f"save_animation needs Pillow: {INSTALL_HINT}", name="PIL") from None
    page = explore(root, model=model, params=params, max_nodes=max_nodes, legend=legend)
    data = page.page_data()
    scene = Scene(json.loads(layout(page.graph.drawing.source, "json")))
    # from the seed on; a leaf has no seed (nothing to propagate): its one step, one frame
    first = next((i for i, s in enumerate(data["steps"]) if s["phase"] == "seed"), 0)
    texts = _texts_at(data, first)
    frames = []
    passed: set = set()  # the edges whose label an earlier step showed
    for i in range(first, len(data["steps"])):
        step = data["steps"][i]
        if i > first:
            for name, which, _, after in step["set"]:
                texts[(name, which)] = after
        frames.append(scene.paint(step, texts, data["boxes"], data["copies"], passed))
        passed |= {tuple(ref) for ref in step["labels"]}
    images = [
        f.quantize(colors=255, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE) for f in frames
    ]
    ms = round(seconds_per_step * 1000)
    buffer = io.BytesIO()
    images[0].save(
        buffer,
        format="GIF",
        save_all=True,
        append_images=images[1:],
        loop=0,
        duration=[ms] * (len(images) - 1) + [3 * ms],
        optimize=False,
        disposal=1,
    )
    path = Path(path)
    write_atomically(path, buffer.getvalue())
    return path


def _texts_at(data: dict, step: int) -> dict:
    """The data and grad text of every box after `step` (the page's state then)."""
    texts = {}
    for name, (d, g) in data["boxes"].items():
        texts[(name, "d")] = d
        if g is not None:
            texts[(name, "g")] = g
    for s in data["steps"][1 : step + 1]:
        for name, which, _, after in s["set"]:
            texts[(name, which)] = after
    return texts


class Scene:
    """Graphviz's drawing operations (its 'json' output: xdot), painted with Pillow."""

    def __init__(self, drawing: dict) -> None:
        x0, y0, x1, y1 = (float(v) for v in drawing["bb"].split(","))
        self.width, self.height = x1 - x0, y1 - y0
        self.nodes = {o["name"]: o for o in drawing.get("objects", []) if "name" in o}
        by_id = {o["_gvid"]: o["name"] for o in drawing.get("objects", [])}
        self.edges: dict[str, list[dict]] = {}  # by their SVG title: 'v0->v2op:num'
        for e in drawing.get("edges", []):
            port = f":{e['headport']}" if e.get("headport") else ""
            title = f"{by_id[e['tail']]}->{by_id[e['head']]}{port}"
            self.edges.setdefault(title, []).append(e)
        self.fonts: dict[int, Any] = {}
        self.k = min(SCALE, MAX_WIDTH / max(self.width, 1.0)) * SUPERSAMPLE  # painted pixels per point

    # ------------------------------------------------------------------ one frame

    def paint(self, step: dict, texts: dict, boxes: dict, copies: dict, passed: set):
        """One frame: the step's node and edges highlighted, the boxes' texts as they are now,
        the labels Graphviz placed on the step's edges (those of earlier steps faded), the
        step's sentences as the caption."""
        from PIL import Image, ImageDraw

        k = self.k
        pad = 12 * SUPERSAMPLE
        caption = round((CAPTION_LINES * 17 + 14) * SCALE * SUPERSAMPLE)
        w, h = round(self.width * k) + 2 * pad, round(self.height * k) + 2 * pad + caption
        image = Image.new("RGB", (w, h), "white")
        draw = ImageDraw.Draw(image)

        def to_px(p):  # Graphviz's points to pixels; y grows down
            return pad + p[0] * k, pad + (self.height - p[1]) * k

        active = {(ref[0], ref[1]) for ref in step["edges"]}
        for title, edges in self.edges.items():
            for i, e in enumerate(edges):
                hot = (title, i) in active
                for key in ("_draw_", "_hdraw_"):
                    self._ops(
                        draw, e.get(key, []), to_px, pen=RED if hot else None, width=2.5 if hot else None
                    )
        current = {step["node"], step["op"]}
        targets = set(step["targets"])
        value = {copy: name for name, names in copies.items() for copy in names}  # a copy's value
        for name, node in self.nodes.items():
            pen = RED if name in current else AMBER if name in targets else None
            self._ops(draw, node.get("_draw_", []), to_px, pen=pen, width=3 if pen else None)
            ops = node.get("_ldraw_", [])
            shown, grad = _numbers_now(ops, value.get(name, name), texts, boxes)
            self._ops(draw, ops, to_px, texts=shown, hot=grad if name in targets else None)
        now = {tuple(ref) for ref in step["labels"]}
        for ref in passed - now:
            self._ops(draw, self.edges[ref[0]][ref[1]].get("_ldraw_", []), to_px, faded=True)
        for ref in now:
            self._ops(draw, self.edges[ref[0]][ref[1]].get("_ldraw_", []), to_px)
        self._caption(draw, step, w, h - caption, pad)
        # Image.Resampling needs Pillow 9.1; Image.LANCZOS works in every version, untyped in recent ones
        return image.resize((w // SUPERSAMPLE, h // SUPERSAMPLE), Image.LANCZOS)  # type: ignore[attr-defined]

    def _font(self, size: float):
        key = max(6, round(size))
        if key not in self.fonts:
            self.fonts[key] = _load_font(key)
        return self.fonts[key]

    def _ops(self, draw, ops: list, to_px, pen: str | None = None, width: float | None = None,
             texts: dict | None = None, hot: int | None = None, faded: bool = False) -> None:  # fmt: skip
        """Paint xdot drawing operations, in order: polygons, ellipses, Béziers, polylines, texts.

        `pen` and `width` outline a highlighted node; `texts` replaces the text of some text
        operations (by index: a box's data and grad at this step); the text at index `hot` is
        painted in the labels' colour (a grad that just changed); `faded` paints every colour
        closer to white (a label of an earlier step).
        """
        stroke: str | None = "#000000"  # None: transparent
        fill: str | None = None
        line, dashed, size = 1.0, False, 11.0
        for i, op in enumerate(ops):
            kind = op["op"]
            if kind == "c":
                stroke = _fade(_color(op["color"])) if faded else _color(op["color"])
            elif kind == "C":
                fill = _fade(_color(op["color"])) if faded else _color(op["color"])
            elif kind == "F":
                size = op["size"]
            elif kind == "S":
                style = op["style"]
                dashed = style in ("dashed", "dotted") or (dashed and style not in ("solid",))
                line = 2.0 if style == "bold" else line
                if style.startswith("setlinewidth("):
                    line = float(style[len("setlinewidth(") : -1])
            elif kind == "T":
                text = (texts or {}).get(i, op["text"])
                color = LABEL if i == hot else stroke or "#000000"
                self._text(draw, to_px(op["pt"]), text, size, color, op["align"], op["width"])
            else:
                points = [to_px(p) for p in op.get("points", [])]
                if kind in ("b", "B"):
                    points = _bezier(points)
                outline = pen or stroke  # None: an invisible outline (a filled cell of the key)
                px = max(1, round((width or line) * self.k * 0.8))
                if kind in ("P", "B") and fill:
                    draw.polygon(points, fill=fill)
                if kind in ("e", "E"):
                    cx, cy = to_px(op["rect"][:2])
                    rx, ry = op["rect"][2] * self.k, op["rect"][3] * self.k
                    draw.ellipse(
                        [cx - rx, cy - ry, cx + rx, cy + ry],
                        fill=fill if kind == "E" else None,
                        outline=outline,
                        width=px,
                    )
                elif outline is None or not points:
                    continue
                elif kind in ("P", "p", "B"):
                    _line(draw, points + [points[0]], outline, px, dashed)
                else:
                    _line(draw, points, outline, px, dashed)

    def _text(self, draw, at, text: str, size: float, color: str, align: str, room: float) -> None:
        font = self._font(size * self.k)
        wide = draw.textlength(text, font=font)
        room_px = room * self.k * 1.15
        if room_px and wide > room_px:  # Graphviz measured Helvetica: keep within its box
            font = self._font(size * self.k * room_px / wide)
            wide = draw.textlength(text, font=font)
        x, y = at
        x -= {"l": 0, "c": wide / 2, "r": wide}.get(align, wide / 2)
        draw.text((x, y), text, fill=color, font=font, anchor="ls")

    def _caption(self, draw, step: dict, width: int, top: int, pad: int) -> None:
        font = self._font(12.5 * SCALE * SUPERSAMPLE)
        draw.line([(pad, top), (width - pad, top)], fill="#e7e5e4", width=SUPERSAMPLE)
        said = ["".join(p if isinstance(p, str) else p[0] for p in parts) for parts in step["text"]]
        if step["phase"] == "done":  # the gradients, on one line
            said = [said[0], "; ".join(said[1:])]
        lines = []
        for text in said:
            lines += _wrap(draw, text, font, width - 2 * pad)
        if len(lines) > CAPTION_LINES:
            lines = lines[: CAPTION_LINES - 1] + ["…"]
        for i, line in enumerate(lines):
            draw.text(
                (pad, top + (10 + 17 * i) * SCALE * SUPERSAMPLE),
                line,
                fill="#1c1917" if i else RED,
                font=font,
                anchor="lt",
            )


def _numbers_now(ops: list, name: str, texts: dict, boxes: dict) -> tuple[dict[int, str], int | None]:
    """A box's data and grad texts as they are at this step, by the index of the text operation
    that writes them (its last two texts; its last one if it has no grad), and that of the grad."""
    spots = [i for i, op in enumerate(ops) if op["op"] == "T"]
    if name not in boxes or not spots:
        return {}, None
    if boxes[name][1] is None:  # a number in the expression: data only
        return {spots[-1]: texts[(name, "d")]}, None
    shown = {spots[-1]: texts[(name, "g")]}
    if len(spots) > 1:
        shown[spots[-2]] = texts[(name, "d")]
    return shown, spots[-1]


def _load_font(size: int):
    from PIL import ImageFont

    try:
        from importlib.util import find_spec

        spec = find_spec("matplotlib")
        if spec and spec.submodule_search_locations:
            path = os.path.join(
                next(iter(spec.submodule_search_locations)), "mpl-data", "fonts", "ttf", "DejaVuSans.ttf"
            )
            if os.path.exists(path):
                return ImageFont.truetype(path, size)
        return ImageFont.truetype("DejaVuSans.ttf", size)
    except OSError:
        return ImageFont.load_default(size=size)


def _color(text: str) -> str | None:
    """xdot's '#rrggbb' or '#rrggbbaa' (fully transparent: None)."""
    if len(text) == 9 and text.startswith("#"):
        return None if text[7:] == "00" else text[:7]
    return text


def _fade(color: str | None) -> str | None:
    """'#rrggbb' 60% of the way to white."""
    if color is None or not color.startswith("#") or len(color) != 7:
        return color
    r, g, b = (int(color[i : i + 2], 16) for i in (1, 3, 5))
    return "#" + "".join(f"{round(c + (255 - c) * 0.6):02x}" for c in (r, g, b))


def _bezier(points: list) -> list:
    """A piecewise cubic Bézier (xdot's control points) as a polyline."""
    out = [points[0]]
    for i in range(0, len(points) - 3, 3):
        (x0, y0), (x1, y1), (x2, y2), (x3, y3) = points[i : i + 4]
        for t in (j / 12 for j in range(1, 13)):
            u = 1 - t
            out.append((u**3 * x0 + 3 * u * u * t * x1 + 3 * u * t * t * x2 + t**3 * x3,
                        u**3 * y0 + 3 * u * u * t * y1 + 3 * u * t * t * y2 + t**3 * y3))  # fmt: skip
    return out


def _line(draw, points: list, color: str, width: int, dashed: bool) -> None:
    if not dashed:
        draw.line(points, fill=color, width=width, joint="curve")
        return
    on, off = 5 * SUPERSAMPLE * SCALE, 4 * SUPERSAMPLE * SCALE
    for a, b in pairwise(points):
        d = math.dist(a, b)
        t = 0.0
        while t < d:
            e = min(t + on, d)
            draw.line(
                [
                    (a[0] + (b[0] - a[0]) * t / d, a[1] + (b[1] - a[1]) * t / d),
                    (a[0] + (b[0] - a[0]) * e / d, a[1] + (b[1] - a[1]) * e / d),
                ],
                fill=color,
                width=width,
            )
            t = e + off


def _wrap(draw, text: str, font, room: float) -> list[str]:
    """Lines of at most `room` pixels; a line break in the text (a label's) starts a new one."""
    lines = []
    for paragraph in text.splitlines() or [""]:
        line = ""
        for word in paragraph.split(" "):
            trial = f"{line} {word}".strip()
            if line and draw.textlength(trial, font=font) > room:
                lines.append(line)
                line = word
            else:
                line = trial
        lines.append(line)
    return [line for line in lines if line]

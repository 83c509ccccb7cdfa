"""autograder.plotting: every arrow of a graph ends outside the boxes, so no arrowhead is hidden."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.text import Annotation  # noqa: E402

from autograder.plotting import draw_graph  # noqa: E402

# Lab 03's nested function, whose wide boxes used to cover 3 of the 5 arrowheads.
NODES = {"x1": (0, 1, "x1 = 1"), "x2": (0, -1, "x2 = 2"), "u": (2, 0.6, "u = 2·x1 + x2\n= 4"),
         "v": (4, 0, "v = u² + 3·x2²\n= 28"), "f": (5.7, 0, "f = v³\n= 21952")}
EDGES = [("x1", "u", "∂u/∂x1 = 2"), ("x2", "u", "∂u/∂x2 = 1"), ("x2", "v", "∂v/∂x2 = 6·x2"), ("u", "v", "∂v/∂u = 2u"),
         ("v", "f", "∂f/∂v = 3v²")]


@pytest.fixture
def drawn():
    fig, ax = plt.subplots(figsize=(10, 3.6))
    draw_graph(ax, NODES, EDGES, "forward pass")
    fig.canvas.draw()
    boxes = [t.get_bbox_patch().get_window_extent() for t in ax.texts if t.get_bbox_patch() is not None]
    arrows = [a for a in ax.texts if isinstance(a, Annotation)]
    yield ax, boxes, arrows
    plt.close(fig)


def test_every_edge_is_drawn_once(drawn):
    _, boxes, arrows = drawn
    assert len(boxes) == len(NODES) and len(arrows) == len(EDGES)


def test_no_arrowhead_or_tail_lies_inside_a_box(drawn):
    ax, boxes, arrows = drawn
    for arrow in arrows:
        for point in (arrow.xy, arrow.xyann):
            x, y = ax.transData.transform(point)
            assert not any(box.contains(x, y) for box in boxes), arrow.xy


def test_each_arrowhead_touches_its_target_box(drawn):
    ax, boxes, arrows = drawn
    for (_, end, _), arrow in zip(EDGES, arrows):
        target = boxes[list(NODES).index(end)]
        head = ax.transData.transform(arrow.xy)
        dx = max(target.x0 - head[0], 0, head[0] - target.x1)
        dy = max(target.y0 - head[1], 0, head[1] - target.y1)
        gap = np.hypot(dx, dy)
        assert gap < 15, f"the arrow to {end} stops {gap:.0f} px from its box"

"""Drawing computation graphs for the labs: boxes for the nodes, arrows between their edges.

The labs import these so that a notebook shows the idea, not 50 lines of layout. Arrows
start and end on the boxes' borders (measured after the text is laid out), so no arrowhead
hides under a box, however wide its text.
"""

from __future__ import annotations

import numpy as np

_BOX = {"boxstyle": "round,pad=0.4", "facecolor": "white", "edgecolor": "C0"}
_GAP = 0.06  # between an arrow's tip and the box, in data units


def _box_extents(ax, boxes):
    """Each text box's half-width and half-height in data units, once the figure is laid out."""
    ax.figure.canvas.draw()
    to_data = ax.transData.inverted()
    extents = []
    for box in boxes:
        (x0, y0), (x1, y1) = to_data.transform(box.get_bbox_patch().get_window_extent().get_points())
        extents.append((abs(x1 - x0) / 2, abs(y1 - y0) / 2))
    return extents


def _border(centre, half, towards):
    """Where the segment from ``centre`` to ``towards`` leaves the rectangle of half-sizes ``half``."""
    direction = np.subtract(towards, centre)
    scale = min(half[0] / abs(direction[0]) if direction[0] else np.inf,
                half[1] / abs(direction[1]) if direction[1] else np.inf)
    return np.asarray(centre) + direction * scale


def _draw(ax, positions, texts, edges, fontsize):
    boxes = {name: ax.text(*positions[name], texts[name], ha="center", va="center", fontsize=fontsize, bbox=_BOX,
                           zorder=3) for name in positions}
    extents = dict(zip(boxes, _box_extents(ax, boxes.values())))
    for start, end, label in edges:
        a, b = np.asarray(positions[start], float), np.asarray(positions[end], float)
        unit = (b - a) / np.hypot(*(b - a))
        tail = _border(a, extents[start], b) + _GAP * unit
        head = _border(b, extents[end], a) - _GAP * unit
        ax.annotate("", xy=head, xytext=tail, zorder=2,
                    arrowprops={"arrowstyle": "-|>", "color": "gray", "lw": 1.3, "shrinkA": 0, "shrinkB": 0})
        if label:  # beside the arrow's middle, on its upper side
            normal = np.array([-unit[1], unit[0]])
            normal = normal if normal[1] >= 0 else -normal
            ax.text(*((tail + head) / 2 + 0.2 * normal), label, ha="center", va="center", fontsize=9, color="C3")


def draw_graph(ax, nodes, edges, title):
    """Draws a small graph with labelled arrows.

    Args:
        ax: the matplotlib axes to draw on; its limits are set to fit the nodes.
        nodes: ``{name: (x, y, text)}``, each drawn as a box centred on (x, y).
        edges: ``[(from_name, to_name, label)]``, each drawn as an arrow; an empty label draws none.
        title: the axes' title.
    """
    xs, ys = [n[0] for n in nodes.values()], [n[1] for n in nodes.values()]
    ax.set(xlim=(min(xs) - 0.7, max(xs) + 0.7), ylim=(min(ys) - 0.7, max(ys) + 0.7), title=title)
    ax.axis("off")
    _draw(ax, {name: node[:2] for name, node in nodes.items()}, {name: node[2] for name, node in nodes.items()},
          edges, fontsize=10)


def _layout(order):
    """Columns: the output rightmost, every other node one column left of its first consumer.
    Rows: a few sweeps move each node towards the mean row of its neighbours, keeping boxes apart."""
    consumers = {node: [n for n in order if node in n._prev] for node in order}
    depth = {}
    for node in reversed(order):
        depth[node] = min((depth[c] for c in consumers[node]), default=0) - 1
    depth = {node: d - min(depth.values()) for node, d in depth.items()}
    columns = [[n for n in order if depth[n] == c] for c in range(max(depth.values()) + 1)]
    row = {n: i - (len(col) - 1) / 2 for col in columns for i, n in enumerate(col)}

    def settle(column, neighbours):
        wanted = {n: np.mean([row[m] for m in neighbours[n]]) if neighbours[n] else row[n] for n in column}
        placed = sorted(column, key=wanted.get)
        ys = [wanted[placed[0]]]
        for n in placed[1:]:
            ys.append(max(wanted[n], ys[-1] + 1.2))
        shift = np.mean([wanted[n] for n in placed]) - np.mean(ys)
        row.update({n: y + shift for n, y in zip(placed, ys)})

    inputs = {n: list(n._prev) for n in order}
    for _ in range(8):
        for column in columns[1:]:
            settle(column, inputs)
        for column in columns[::-1]:
            settle(column, consumers)
    return {node: (depth[node], row[node]) for node in order}, len(columns)


def draw_value_graph(root, names, title, topological_order):
    """Draws the graph a scalar autograd ``Value`` recorded, with each node's data and grad.

    Args:
        root: the output Value (after ``root.backward()``, to show the gradients).
        names: ``{id(value): name}`` for the nodes to name; others show their operation only.
        title: the figure's title.
        topological_order: a function returning the nodes, inputs first (Lab 03's exercise).

    Returns:
        The matplotlib figure.
    """
    import matplotlib.pyplot as plt

    order = topological_order(root)
    positions, num_columns = _layout(order)
    fig, ax = plt.subplots(figsize=(1.8 * num_columns, 3.6))
    rows = [y for _, y in positions.values()]
    ax.set(xlim=(-0.6, num_columns - 0.4), ylim=(min(rows) - 0.8, max(rows) + 0.8), title=title)
    ax.axis("off")
    texts = {}
    for node in order:
        name = names.get(id(node), "" if node._prev else "constant")
        heading = f"{name}: {node._op}" if name and node._op else name or node._op
        texts[node] = f"{heading}\ndata {node.data:.5g}\ngrad {node.grad:.5g}"
    edges = [(parent, node, "") for node in order for parent in node._prev]
    fig.tight_layout()  # before the boxes are measured: it changes the axes' scale
    _draw(ax, positions, texts, edges, fontsize=8)
    return fig

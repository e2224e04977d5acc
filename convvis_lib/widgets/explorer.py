"""Selectors (layer, class, method, plain choices) and the explorer: live in a kernel, pre-rendered in the book."""
from __future__ import annotations

import base64
import contextlib
import html
import io
import itertools
import os
from collections import OrderedDict
from typing import Callable, Hashable, Sequence

import ipywidgets as widgets
import matplotlib.pyplot as plt

from ..errors import ConvVisError
from ..models import ModelInfo
from ..plot import FIGURE_DPI, METHOD_LABELS, figure_image

STATIC_ENV = "CONVVIS_STATIC"
MAX_STATIC_RENDERS = 64
MAX_CACHED_VIEWS = 32  # rendered views an explorer keeps for revisits (PNG at 100 dpi: ~50-300 kB each)
STYLE = {"description_width": "initial"}


def static_mode() -> bool:
    """True while the book is built: controls are pre-rendered and switched in the browser."""
    return os.environ.get(STATIC_ENV, "") not in ("", "0")


def layer_dropdown(info: ModelInfo, layers: Sequence[str] | None = None, value: str | None = None,
                   description: str = "층(layer)") -> widgets.Dropdown:
    """Dropdown of the model's layer names (from ``info.layers`` unless ``layers`` is given)."""
    names = list(layers) if layers is not None else info.layer_names
    bad = [n for n in names if n not in info.layers and n not in info.weights]
    if bad:
        raise ConvVisError(f"unknown layer(s) {bad} for {info.name}; allowed: {info.layer_names}")
    return widgets.Dropdown(options=names, value=value or names[0], description=description, style=STYLE)


def class_dropdown(info: ModelInfo, value: int | str = 0, classes: Sequence[int] | None = None,
                   description: str = "클래스(class)") -> widgets.Dropdown:
    """Dropdown of class names whose value is the class index.

    Labels are "index: Korean name"; for ImageNet models the English name follows in parentheses
    ("281: 얼룩무늬 고양이 (tabby)"), so a reader can still find a class by the name papers use.
    """
    idx = list(classes) if classes is not None else list(range(info.num_classes))
    options = [(class_label(info, i), i) for i in idx]
    return widgets.Dropdown(options=options, value=info.class_index(value), description=description, style=STYLE)


def class_label(info: ModelInfo, idx: int) -> str:
    """"index: Korean name", with " (English name)" added where the model's classes have distinct English names."""
    ko, en = info.label(idx), info.class_names[idx]
    if info.dataset == "fashion-mnist" or ko == en:
        return f"{idx}: {ko}"
    return f"{idx}: {ko} ({en})"


def choice(options: Sequence, value=None, description: str = "") -> widgets.Dropdown:
    """A plain dropdown for other choices (image, unit, method, ...)."""
    options = list(options)
    first = options[0][1] if isinstance(options[0], tuple) else options[0]
    return widgets.Dropdown(options=options, value=first if value is None else value,
                            description=description, style=STYLE)


def method_dropdown(methods: Sequence[str], value: str | None = None, description: str = "방법") -> widgets.Dropdown:
    """Dropdown of attribution methods under their Korean names (:data:`convvis_lib.plot.METHOD_LABELS`);
    its value is the method's key (``"saliency"``, ``"guided_backprop"``, ...)."""
    unknown = [m for m in methods if m not in METHOD_LABELS]
    if unknown:
        raise ConvVisError(f"unknown method(s) {unknown}; allowed: {list(METHOD_LABELS)}")
    return choice([(METHOD_LABELS[m], m) for m in methods], value, description)


def image_dropdown(names: Sequence[str], indices: Sequence[int] | None = None, value: int | None = None,
                   description: str = "사진") -> widgets.Dropdown:
    """Dropdown of images by name (e.g. ``examples.names``) whose value is the image's index into ``names``;
    all of them, or only ``indices`` in that order."""
    idx = range(len(names)) if indices is None else [int(i) for i in indices]
    bad = [i for i in idx if not 0 <= i < len(names)]
    if bad:
        raise ConvVisError(f"image index {bad[0]} out of range; allowed: 0..{len(names) - 1}")
    return choice([(names[i], i) for i in idx], value, description)


def _labels_values(dd: widgets.Dropdown) -> tuple[list[str], list]:
    return list(dd._options_labels), list(dd._options_values)


def render_to_html(render: Callable[..., object], kwargs: dict, dpi: int = FIGURE_DPI) -> str:
    """Run ``render(**kwargs)``; return its printed text and figures as one HTML snippet.

    Figures are PNGs at the dpi of the notebook's own figures, with their smallest text recorded
    (:func:`convvis_lib.plot.figure_image`).
    """
    before = set(plt.get_fignums())
    text = io.StringIO()
    with plt.ioff(), contextlib.redirect_stdout(text):
        render(**kwargs)
    parts = [f"<pre>{html.escape(text.getvalue())}</pre>"] if text.getvalue().strip() else []
    for num in [n for n in plt.get_fignums() if n not in before]:
        png = figure_image(plt.figure(num), "png", dpi=dpi)
        plt.close(num)
        b64 = base64.b64encode(png).decode("ascii")
        parts.append(f'<img src="data:image/png;base64,{b64}" style="max-width:100%"/>')
    return "\n".join(parts)


def _static_tree(render, controls: list[tuple[str, widgets.Dropdown]], fixed: dict,
                 pickers: list[list[widgets.Dropdown]], depth: int = 0) -> widgets.Widget:
    if not controls:
        return widgets.HTML(render_to_html(render, fixed))
    (name, dd), rest = controls[0], controls[1:]
    labels, values = _labels_values(dd)
    start = values.index(dd.value)
    picker = widgets.Dropdown(options=[(lb, i) for i, lb in enumerate(labels)], value=start,
                              description=dd.description, style=STYLE)
    pickers[depth].append(picker)
    stack = widgets.Stack([_static_tree(render, rest, {**fixed, name: v}, pickers, depth + 1) for v in values],
                          selected_index=start)
    widgets.jslink((picker, "index"), (stack, "selected_index"))
    return widgets.VBox([picker, stack])


def static_explorer(render: Callable[..., object], controls: dict[str, widgets.Dropdown]) -> widgets.Widget:
    """Pre-render every combination; nested Stacks switched by dropdowns in the browser (no kernel).

    Dropdowns at the same depth are linked, so a choice survives switching the outer one.
    A control with a single option switches nothing: it is not shown as a dropdown; a line
    above the view names its value and says that a running notebook can change it.
    """
    pinned = {n: dd for n, dd in controls.items() if len(dd.options) < 2}
    shown = [(n, dd) for n, dd in controls.items() if n not in pinned]
    pickers: list[list[widgets.Dropdown]] = [[] for _ in shown]
    tree = _static_tree(render, shown, {n: dd.value for n, dd in pinned.items()}, pickers)
    for level in pickers:
        for a, b in zip(level, level[1:]):
            widgets.jslink((a, "index"), (b, "index"))
    if not pinned:
        return tree
    return widgets.VBox([widgets.HTML(pinned_note(pinned)), tree])


def pinned_note(pinned: dict[str, widgets.Dropdown]) -> str:
    """One line naming the values the book keeps fixed (HTML)."""
    values = ", ".join(f"{html.escape(_plain(dd.description))} ‘{html.escape(dd._options_labels[dd.index])}’"
                       for dd in pinned.values())
    return f'<p class="convvis-pinned">책에서는 고정: {values}. 노트북을 실행하면(Colab, Jupyter) 바꿀 수 있습니다.</p>'


def _plain(description: str) -> str:
    return description.split("(")[0].strip() or description


def explore(render: Callable[..., object], static_fixed: Sequence[str] = (), cache_views: int = MAX_CACHED_VIEWS,
            **controls: widgets.Dropdown) -> widgets.Widget:
    """Show ``render(**values)`` under dropdowns; redraw when one changes.

    In a kernel the view is rendered live when a combination of options is first shown and
    reused when it comes back (the last ``cache_views`` combinations; 0 re-renders every time,
    for a ``render`` that reads state changing after the cell ran). While the book is built
    (``CONVVIS_STATIC=1``) every combination of options is rendered once and
    the dropdowns switch between them in the browser, with no kernel; controls
    named in ``static_fixed`` keep their current value there (to limit renders).
    """
    if not controls:
        raise ConvVisError("explore() needs at least one control, e.g. layer=layer_dropdown(info)")
    unknown = [n for n in static_fixed if n not in controls]
    if unknown:
        raise ConvVisError(f"static_fixed names unknown controls {unknown}; controls: {list(controls)}")
    if static_mode():
        controls = {n: _fixed(dd) if n in static_fixed else dd for n, dd in controls.items()}
        n = 1
        for dd in controls.values():
            n *= len(dd.options)
        if n > MAX_STATIC_RENDERS:
            raise ConvVisError(f"{n} combinations is too many to pre-render (max {MAX_STATIC_RENDERS}); "
                               "give the dropdowns fewer options for the book")
        return static_explorer(render, controls)

    return live_explorer(render, controls, cache_views)


class ViewCache:
    """The most recently used rendered views (HTML), keyed by the controls' values."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._views: OrderedDict[Hashable, str] = OrderedDict()

    def get(self, key: Hashable) -> str | None:
        """The view stored under ``key`` (now the most recent), or None."""
        if key not in self._views:
            return None
        self._views.move_to_end(key)
        return self._views[key]

    def put(self, key: Hashable, view: str) -> None:
        """Store ``view``; drop the least recently used one beyond ``size``."""
        if self.size <= 0:
            return
        self._views[key] = view
        self._views.move_to_end(key)
        while len(self._views) > self.size:
            self._views.popitem(last=False)


def _cache_key(values: dict) -> Hashable | None:
    """The controls' values as a hashable key, or None when a value is not hashable."""
    key = tuple(values.items())
    try:
        hash(key)
    except TypeError:
        return None
    return key


def live_explorer(render: Callable[..., object], controls: dict[str, widgets.Dropdown],
                  cache_views: int = MAX_CACHED_VIEWS) -> widgets.Widget:
    """Dropdowns above an HTML view that is rendered when a value changes (or reused, see :func:`explore`).

    Revisiting a combination of options reuses its rendered HTML: matplotlib's drawing and
    PNG encoding, not the notebook's computation, are most of a redraw's time.
    The view is a plain ``HTML`` widget rather than an ``Output`` widget: nothing is
    captured from the kernel's output stream, which keeps headless executors
    (nbclient, nbval) from stalling on widget output messages, and it works the
    same on ipywidgets 7 (Colab) and 8.
    """
    view = widgets.HTML()
    cache = ViewCache(cache_views)

    def show(values: dict) -> None:
        key = _cache_key(values)
        cached = cache.get(key) if key is not None else None
        if cached is None:
            cached = render_to_html(render, values)
            if key is not None:
                cache.put(key, cached)
        view.value = cached

    def update(_change=None) -> None:
        try:
            show({n: dd.value for n, dd in controls.items()})
        except Exception as err:  # show the error where the figure would be, keep the controls usable
            plt.close("all")
            view.value = f'<pre style="color:#b00020">{html.escape(type(err).__name__ + ": " + str(err))}</pre>'

    show({n: dd.value for n, dd in controls.items()})  # not caught: an error here fails the cell
    for dd in controls.values():
        dd.observe(update, names="value")
    return widgets.VBox([widgets.HBox(list(controls.values())), view])


def _fixed(dd: widgets.Dropdown) -> widgets.Dropdown:
    """A one-option copy of ``dd`` holding its current value."""
    label = dd._options_labels[dd.index]
    return widgets.Dropdown(options=[(label, dd.value)], value=dd.value, description=dd.description,
                            style=STYLE, disabled=True)


class ImagePicker:
    """Class + index dropdowns for Fashion-MNIST, or one photo dropdown for ImageNet models.

    ``controls`` go to :func:`explore`; ``index(**values)`` turns their values into an example index;
    ``static_fixed`` names the controls to keep fixed in the pre-rendered book.
    """

    def __init__(self, info: ModelInfo, examples, per_class: int = 5) -> None:
        self.examples = examples
        if info.dataset == "fashion-mnist":
            classes = [c for c in range(info.num_classes) if examples.of_class(c)]
            self.controls = {"cls": class_dropdown(info, classes[0], classes),
                             "nth": choice([(f"{k + 1}번째", k) for k in range(per_class)], description="이미지 번호")}
            self.static_fixed = ["nth"]
        else:
            self.controls = {"cls": image_dropdown(examples.names)}
            self.static_fixed = []

    def index(self, cls: int, nth: int | None = None) -> int:
        """Example index for the chosen class and position (or the chosen photo)."""
        if nth is None:
            return int(cls)
        members = self.examples.of_class(cls)
        if not members:
            raise ConvVisError(f"no example of class {cls} in this image set")
        return members[min(nth, len(members) - 1)]


def combinations(**controls: widgets.Dropdown) -> list[dict]:
    """Every combination of the dropdowns' values (for tests and benchmarks)."""
    names = list(controls)
    values = [_labels_values(controls[n])[1] for n in names]
    return [dict(zip(names, combo)) for combo in itertools.product(*values)]

"""Extension points: registries of named implementations, loaded lazily.

Each registry maps an explicit name to either a ready object or an ``"module:attribute"``
string that is imported only when the name is first asked for, so registering a torch-backed
engine costs nothing until someone uses it. Third-party packages add names through the entry
point group ``tweenlab.<registry>`` (for example ``tweenlab.flow_estimators``).
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from importlib.metadata import entry_points
from typing import Generic, TypeVar

from tweenlab.errors import PluginError

__all__ = ["REGISTRIES", "Registry", "registry"]

T = TypeVar("T")


class Registry(Generic[T]):
    """Named implementations of one extension point.

    Args:
        kind: The registry's name; also the entry-point group ``tweenlab.<kind>``.

    Example:
        >>> shapes = Registry[str]("shapes")
        >>> shapes.register("box", "builtins:str")
        >>> shapes.get("box") is str
        True
    """

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._targets: dict[str, T | str] = {}
        self._loaded: dict[str, T] = {}
        self._entry_points_read = False

    def register(self, name: str, target: T | str, *, replace: bool = False) -> None:
        """Register ``target`` (an object or a lazy ``"module:attr"`` path) under ``name``."""
        if name in self._targets and not replace:
            raise PluginError(f"{self.kind}: {name!r} is already registered")
        self._targets[name] = target
        self._loaded.pop(name, None)

    def get(self, name: str) -> T:
        """Return the implementation registered as ``name``, importing it on first use."""
        if name in self._loaded:
            return self._loaded[name]
        self._read_entry_points()
        if name not in self._targets:
            known = ", ".join(sorted(self._targets)) or "none"
            raise PluginError(f"{self.kind}: no plugin named {name!r} (known: {known})")
        target = self._targets[name]
        loaded = _import_target(self.kind, name, target) if isinstance(target, str) else target
        self._loaded[name] = loaded
        return loaded

    def names(self) -> list[str]:
        """All registered names, sorted, without importing any of them."""
        self._read_entry_points()
        return sorted(self._targets)

    def __contains__(self, name: object) -> bool:
        self._read_entry_points()
        return name in self._targets

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def _read_entry_points(self) -> None:
        if self._entry_points_read:
            return
        self._entry_points_read = True
        for point in entry_points(group=f"tweenlab.{self.kind}"):
            self._targets.setdefault(point.name, point.value)


def _import_target(kind: str, name: str, target: str) -> T:  # type: ignore[type-var]
    module_name, _, attribute = target.partition(":")
    try:
        module = importlib.import_module(module_name)
        obj = module
        for part in attribute.split(".") if attribute else []:
            obj = getattr(obj, part)
    except (ImportError, AttributeError) as error:
        raise PluginError(f"{kind}: plugin {name!r} ({target}) failed to load: {error}") from error
    return obj  # type: ignore[return-value]


REGISTRIES: dict[str, Registry[object]] = {
    kind: Registry[object](kind)
    for kind in (
        "formats",
        "keyframe_detectors",
        "flow_estimators",
        "interpolators",
        "synthesizers",
        "labelers",
        "executors",
    )
}

#: What tweenlab itself registers, as lazy ``module:attribute`` paths (nothing is imported).
BUILTINS: dict[str, dict[str, str]] = {
    "formats": {
        **{
            name: f"tweenlab.formats.{name}:FORMAT"
            for name in ("native", "coco", "yolo", "mot", "cvat_video", "datumaro")
        },
        "yolo_segment": "tweenlab.formats.yolo:FORMAT_SEGMENT",
    },
    "keyframe_detectors": {"tweenlab": "tweenlab.keyframes.detector:KeyframeDetector"},
    "flow_estimators": {
        "dis": "tweenlab.propagation.flow:dis_flow",
        "seeded": "tweenlab.synthesis._seeds:seeded_dis_flow",
        "farneback": "tweenlab.propagation.flow:farneback_flow",
    },
    "labelers": {
        "onnx": "tweenlab.autolabel.onnx:onnx_labeler",
        "yolov3-tiny": "tweenlab.autolabel.darknet:yolov3_tiny",
        "mtcnn": "tweenlab.autolabel.faces:mtcnn",
        "hog-people": "tweenlab.autolabel.people:hog_people",
        "motion": "tweenlab.autolabel.motion:motion_proposals",
        "http": "tweenlab.autolabel.http:http_labeler",
    },
    "synthesizers": {
        "flow": "tweenlab.synthesis.flow:FlowSynthesizer",
        **{
            name: f"tweenlab.synthesis.deep:{name}"
            for name in ("adaconv", "sepconv", "dvf", "bipn", "phasenet")
        },
    },
}
for _kind, _targets in BUILTINS.items():
    for _name, _target in _targets.items():
        REGISTRIES[_kind].register(_name, _target)


def registry(kind: str) -> Registry[object]:
    """The registry for one extension point, e.g. ``registry("flow_estimators")``."""
    try:
        return REGISTRIES[kind]
    except KeyError:
        known = ", ".join(sorted(REGISTRIES))
        raise PluginError(f"no registry named {kind!r} (known: {known})") from None

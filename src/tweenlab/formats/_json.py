"""Checked JSON reading, shared by the JSON importers (native, COCO): a file read whole with a
size limit, and ``JsonNode``, which reads typed values and reports every malformed one with the
file, the JSON path and the field (``FormatError``)."""

from __future__ import annotations

import contextlib
import json
import math
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

from tweenlab.core.schema import AttributeValue
from tweenlab.errors import AnnotationError, FormatError

__all__ = ["MAX_JSON_BYTES", "JsonNode", "finite", "parse_json", "read_json"]

#: JSON files are parsed whole; bigger ones are refused before reading (MOT and CVAT XML stream).
MAX_JSON_BYTES = 2 * 1024**3


def read_json(path: Path, *, max_bytes: int | None = None) -> Any:
    """Parse a JSON file, or raise ``FormatError`` naming the file and the line.

    Files over ``max_bytes`` (default ``MAX_JSON_BYTES``) are refused before any is read.
    """
    limit = MAX_JSON_BYTES if max_bytes is None else max_bytes
    try:
        size = Path(path).stat().st_size
        if size > limit:
            raise FormatError(
                path,
                f"is {size / 1024**3:.1f} GB; JSON files are read whole and the limit is "
                f"{limit / 1024**3:.1f} GB (split the file, or use MOT or CVAT XML, which stream)",
            )
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise FormatError(path, "no such file") from None
    except (OSError, UnicodeDecodeError) as error:
        raise FormatError(path, f"cannot be read as UTF-8 text: {error}") from None
    return parse_json(text, path)


def parse_json(text: str, path: str | Path) -> Any:
    """Parse JSON text, or raise ``FormatError`` with the line and column of the mistake."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise FormatError(
            path, f"not valid JSON: {error.msg}", line=error.lineno, field=f"column {error.colno}"
        ) from None
    except RecursionError:
        raise FormatError(path, "nested too deeply to be read (arrays and objects)") from None
    except ValueError as error:  # an integer of more digits than Python converts (4300)
        raise FormatError(path, f"not readable JSON: {str(error).splitlines()[0][:120]}") from None


@dataclass(frozen=True)
class JsonNode:
    """A value inside a JSON document and its JSON path, for checked reading.

    Every accessor raises ``FormatError(path, detail, line=<JSON path>, field=<key>)``.

    Example:
        >>> node = JsonNode(Path("a.json"), "tracks[0]", {"id": "x"})
        >>> node.integer("id")
        Traceback (most recent call last):
        ...
        tweenlab.errors.FormatError: a.json, tracks[0], id: must be an integer, got 'x'
    """

    path: Path
    where: str
    value: Any

    def fail(self, detail: str, field: str | None = None) -> NoReturn:
        """Raise ``FormatError`` at this node."""
        raise FormatError(self.path, detail, line=self.where or "top level", field=field)

    def object(self) -> dict[str, Any]:
        """This value as a JSON object."""
        if not isinstance(self.value, dict):
            self.fail(f"must be an object, got {_kind_of(self.value)}")
        return self.value

    def has(self, key: str) -> bool:
        """Whether this object has ``key`` (and it is not null)."""
        return self.object().get(key) is not None

    def child(self, key: str) -> JsonNode:
        """The value under ``key`` (which must be present)."""
        data = self.object()
        if key not in data:
            self.fail("missing", field=key)
        return JsonNode(self.path, f"{self.where}.{key}" if self.where else key, data[key])

    def array(self, key: str) -> list[JsonNode]:
        """The items of the array under ``key``."""
        node = self.child(key)
        if not isinstance(node.value, list):
            self.fail(f"must be an array, got {_kind_of(node.value)}", field=key)
        return [JsonNode(self.path, f"{node.where}[{i}]", v) for i, v in enumerate(node.value)]

    def integer(self, key: str, *, minimum: int | None = None, default: Any = ...) -> Any:
        """An integer (``default`` when missing or null, if given)."""
        value = self._get(key, default)
        if value is default and default is not ...:
            return value
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int):
            self.fail(f"must be an integer, got {value!r}", field=key)
        if minimum is not None and value < minimum:
            self.fail(f"must be >= {minimum}, got {value}", field=key)
        return value

    def number(self, key: str, *, minimum: float | None = None, default: Any = ...) -> Any:
        """A finite number (``default`` when missing or null, if given)."""
        value = self._get(key, default)
        if value is default and default is not ...:
            return value
        return finite(self, value, key, minimum)

    def text(self, key: str, *, default: Any = ...) -> Any:
        """A string (``default`` when missing or null, if given)."""
        value = self._get(key, default)
        if value is default and default is not ...:
            return value
        if not isinstance(value, str):
            self.fail(f"must be a string, got {value!r}", field=key)
        return value

    def flag(self, key: str, *, default: Any = ...) -> Any:
        """A boolean (``default`` when missing or null, if given)."""
        value = self._get(key, default)
        if value is default and default is not ...:
            return value
        if not isinstance(value, bool):
            self.fail(f"must be true or false, got {value!r}", field=key)
        return value

    def attributes(self, key: str = "attributes") -> dict[str, AttributeValue]:
        """An object of attribute values (bool, finite number or str); ``{}`` when missing."""
        if not self.has(key):
            return {}
        node = self.child(key)
        values = node.object()
        for name, value in values.items():
            if not isinstance(value, bool | int | float | str) or (
                isinstance(value, float) and not math.isfinite(value)
            ):
                node.fail(f"must be a bool, finite number or string, got {value!r}", field=name)
        return dict(values)

    def numbers(self, key: str, count: int | None = None) -> list[float]:
        """An array of finite numbers (``count`` of them, if given)."""
        node = self.child(key)
        if not isinstance(node.value, list) or (count is not None and len(node.value) != count):
            expected = f"{count} numbers" if count is not None else "an array of numbers"
            self.fail(f"must be {expected}, got {node.value!r}", field=key)
        return [finite(node, v, f"{key}[{i}]", None) for i, v in enumerate(node.value)]

    @contextlib.contextmanager
    def building(self, field: str | None = None) -> Iterator[None]:
        """Turn an ``AnnotationError`` raised by a core constructor into a ``FormatError`` here."""
        try:
            yield
        except AnnotationError as error:
            self.fail(error.detail, field=error.field or field)

    def _get(self, key: str, default: Any) -> Any:
        data = self.object()
        if data.get(key) is None:
            if default is not ...:
                return default
            self.fail("missing" if key not in data else "must not be null", field=key)
        return data[key]


def finite(node: JsonNode, value: Any, key: str, minimum: float | None) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        node.fail(f"must be a finite number, got {value!r}", field=key)
    if minimum is not None and value < minimum:
        node.fail(f"must be >= {minimum}, got {value}", field=key)
    return value  # an int stays an int: exact round trips


def _kind_of(value: Any) -> str:
    names = {dict: "an object", list: "an array", str: "a string", bool: "a boolean"}
    return names.get(type(value), "null" if value is None else f"{value!r}")

"""The keyframes file of ``tweenlab propagate --keyframes`` (eval_tracks' contract): what
reads back, and every malformed file a ``FormatError`` naming the file, line and field."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.propagation import write_keyframes
from tweenlab.errors import FormatError
from tweenlab.services.propagate import read_keyframes


@pytest.mark.parametrize(
    ("text", "field"),
    [
        pytest.param('{"keyframes": {"0": [1, 2, 3, 4],}}', None, id="bad-json"),
        pytest.param("[]", None, id="not-an-object"),
        pytest.param('{"frames": 40}', None, id="missing-keyframes"),
        pytest.param('{"keyframes": [[1, 2, 3, 4]]}', None, id="keyframes-a-list"),
        pytest.param('{"keyframes": {"a": [1, 2, 3, 4]}}', "keyframes.a", id="key-a"),
        pytest.param('{"keyframes": {"-1": [1, 2, 3, 4]}}', "keyframes.-1", id="key-negative"),
        pytest.param('{"keyframes": {"1.5": [1, 2, 3, 4]}}', "keyframes.1.5", id="key-float"),
        pytest.param('{"keyframes": {"3": [1, 2, 3]}}', "keyframes.3", id="three-numbers"),
        pytest.param('{"keyframes": {"3": [1, 2, 3, 4, 5]}}', "keyframes.3", id="five-numbers"),
        pytest.param('{"keyframes": {"3": "1,2,3,4"}}', "keyframes.3", id="box-a-string"),
        pytest.param('{"keyframes": {"3": [1, "2", 3, 4]}}', "keyframes.3", id="string-inside"),
        pytest.param('{"keyframes": {"3": {"x": 1}}}', "keyframes.3", id="box-an-object"),
        pytest.param('{"frames": 0, "keyframes": {}}', "frames", id="frames-zero"),
        pytest.param('{"frames": "40", "keyframes": {}}', "frames", id="frames-a-string"),
        pytest.param('{"frames": 39.5, "keyframes": {}}', "frames", id="frames-a-float"),
        pytest.param('{"keyframes": {"3": [1, 2, 0, 4]}}', "keyframes.3", id="zero-width"),
        pytest.param('{"keyframes": {"3": [1, 2, 3, -4]}}', "keyframes.3", id="negative-height"),
        pytest.param('{"keyframes": {"3": [NaN, 2, 3, 4]}}', "keyframes.3", id="nan"),
        pytest.param('{"keyframes": {"3": [1, 2, Infinity, 4]}}', "keyframes.3", id="infinity"),
        pytest.param(
            '{"keyframes": {"3": [1e308, 2, 1e308, 4]}}', "keyframes.3", id="edge-overflows"
        ),
        pytest.param(
            '{"keyframes": ' + "[" * 100_000 + "]" * 100_000 + "}", None, id="nested-too-deep"
        ),
    ],
)
def test_malformed_keyframes_files_are_format_errors(
    tmp_path: Path, text: str, field: str | None
) -> None:
    path = write_keyframes(tmp_path / "keys.json", text)
    with pytest.raises(FormatError) as caught:
        read_keyframes(path)
    assert caught.value.path == path
    assert str(path) in str(caught.value)
    assert caught.value.field == field
    if field is not None:
        assert field in str(caught.value)


def test_bad_json_names_its_line(tmp_path: Path) -> None:
    path = write_keyframes(tmp_path / "keys.json", '{\n"keyframes": {\n"0": [1, 2, 3, 4],\n}}')
    with pytest.raises(FormatError, match=r"keys\.json, line 4"):
        read_keyframes(path)


def test_missing_keyframes_file_is_a_format_error(tmp_path: Path) -> None:
    with pytest.raises(FormatError, match="no such file"):
        read_keyframes(tmp_path / "absent.json")


def test_a_good_keyframes_file_reads_back(tmp_path: Path) -> None:
    text = '{"frames": 40, "keyframes": {"7": [1.5, 2, 3, 4.25], "0": null, "12": [0, 0, 1, 1]}}'
    frames, keys = read_keyframes(write_keyframes(tmp_path / "keys.json", text))
    assert frames == 40
    assert keys == {7: (1.5, 2, 3, 4.25), 0: None, 12: (0, 0, 1, 1)}


@pytest.mark.parametrize(
    "text",
    [
        pytest.param('{"keyframes": {"\\u00b2": [1, 2, 3, 4]}}', id="superscript-two-key"),
        pytest.param('{"keyframes": {"0": [true, 2, 3, 4]}}', id="boolean-in-box"),
        pytest.param('{"frames": true, "keyframes": {}}', id="frames-true"),
        pytest.param('{"keyframes": {"0": [1, 2, 3, 4], "00": [5, 6, 7, 8]}}', id="0-and-00"),
    ],
)
def test_keyframes_files_with_lookalike_values_are_refused(tmp_path: Path, text: str) -> None:
    with pytest.raises(FormatError):
        read_keyframes(write_keyframes(tmp_path / "keys.json", text))

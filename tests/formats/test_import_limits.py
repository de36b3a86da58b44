"""Files that asked for more than a machine has, or that Python's readers choke on, are
``FormatError``s naming the file (found by an audit, 2026-11-28: each was an internal error, or
an import whose later export failed)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.formats.helpers import box_annotations
from tweenlab.core import VideoRef
from tweenlab.core.rle import Rle
from tweenlab.errors import AnnotationError, FormatError
from tweenlab.formats import coco, cvat_video, mot, native


def _native(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "annotations.json"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("text", "words"),
    [
        pytest.param("[" * 100_000 + "]" * 100_000, "nested too deeply", id="nested"),
        pytest.param('{"version": ' + "9" * 5000 + "}", "not readable JSON", id="5000-digits"),
    ],
)
@pytest.mark.parametrize("module", [native, coco], ids=["native", "coco"])
def test_json_python_cannot_read_is_a_format_error(
    tmp_path: Path, text: str, words: str, module: object
) -> None:
    path = _native(tmp_path, text)
    with pytest.raises(FormatError, match=words) as caught:
        module.load(path)  # type: ignore[attr-defined]
    assert caught.value.path == path


def test_a_video_of_absurd_length_or_size_is_refused() -> None:
    """An export makes tables of the frame count: 10**12 frames asked for 7 TB."""
    with pytest.raises(AnnotationError, match="at most 100000000 frames"):
        VideoRef("v.mp4", 10**12, 640, 360)
    with pytest.raises(AnnotationError, match="16384 px a side"):
        VideoRef("v.mp4", 10, 100_000, 360)
    with pytest.raises(AnnotationError, match="positive rate"):
        VideoRef("v.mp4", 10, 640, 360, 0)
    with pytest.raises(AnnotationError, match="at most 16384 a side"):
        Rle((10**12,), 10**6, 10**6)


def test_a_native_file_claiming_too_many_frames_names_itself(tmp_path: Path) -> None:
    document = json.loads(native.dumps(box_annotations()))
    document["video"]["frame_count"] = 10**12
    path = _native(tmp_path, json.dumps(document))
    with pytest.raises(FormatError) as caught:
        native.load(path)
    assert caught.value.path == path and "frames" in str(caught.value)


def _sequence(folder: Path, *, rate: int = 25, width: int = 100, height: int = 80) -> Path:
    """A one-row MOT sequence of 10 frames with its ``seqinfo.ini``."""
    (folder / "gt").mkdir()
    (folder / "gt" / "gt.txt").write_text("1,1,10,10,20,30,1,1,1\n")
    (folder / "seqinfo.ini").write_text(
        f"[Sequence]\nname=seq\nimDir=img1\nframeRate={rate}\nseqLength=10\n"
        f"imWidth={width}\nimHeight={height}\nimExt=.jpg\n"
    )
    return folder


def test_a_mot_sequence_of_frame_rate_zero_is_refused(tmp_path: Path) -> None:
    """It imported as ``fps 0/1``, and every export of it then failed."""
    _sequence(tmp_path, rate=0)
    with pytest.raises(FormatError, match="positive rate") as caught:
        mot.load(tmp_path)
    assert caught.value.path == tmp_path / "seqinfo.ini"


def test_cvat_xml_in_an_unknown_encoding_is_a_format_error(tmp_path: Path) -> None:
    path = tmp_path / "annotations.xml"
    path.write_text('<?xml version="1.0" encoding="bogus-enc"?>\n<annotations></annotations>\n')
    with pytest.raises(FormatError, match="bogus-enc"):
        cvat_video.load(path)


def test_a_mot_sequence_of_another_picture_size_than_the_video_is_refused(tmp_path: Path) -> None:
    """MOT17-04's 1920x1080 boxes imported onto a 640x360 video, exit 0."""
    _sequence(tmp_path, width=1920, height=1080)
    with pytest.raises(FormatError, match=r"1920x1080 frames, the video v\.mp4 is 640x360"):
        mot.load(tmp_path, video=VideoRef("v.mp4", 10, 640, 360))
    assert mot.load(tmp_path, video=VideoRef("v.mp4", 10, 1920, 1080)).video.width == 1920


def test_a_value_thousands_of_characters_long_is_quoted_shortly(tmp_path: Path) -> None:
    """A 5000-digit number was quoted whole in the one-line error."""
    (tmp_path / "gt").mkdir()
    (tmp_path / "gt" / "gt.txt").write_text("1,1," + "1" * 5000 + ".5,10,20,30,1,1,1\n")
    with pytest.raises(FormatError) as caught:
        mot.load(tmp_path)
    message = str(caught.value)
    assert len(message) < 600 and "characters) ..." in message and "line 1" in message

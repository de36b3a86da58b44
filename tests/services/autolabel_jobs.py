"""The auto-labelling job's params on a real clip, and the result one unsplit pass gives
(``label_frames`` over all the frames, then ``prelabel``), for the tests that run the split job
through an executor (``tests/services/test_autolabel_parts.py``, ``tests/jobs``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tweenlab.autolabel.run import every_nth, label_frames
from tweenlab.media import VideoReader
from tweenlab.services.annotations import video_ref
from tweenlab.services.autolabel import labeler_options, make_labeler, prelabel
from tweenlab.settings import Settings

CLIP = "clips/vtest.avi"  # people walking; keyframes every 250 frames
STOP = 120  # the task: frames 0 to 119, every 2nd labelled (60 frames)
EVERY = 2
SPAN_FRAMES = 40  # three parts of 20 frames (no keyframe between 0 and 250)


def job_params(video: Path, data: Path, labeler: str) -> dict[str, Any]:
    """What ``start_autolabel`` writes for a task of frames 0..``STOP`` of ``video``."""
    return {
        "project_id": 1,
        "created_by": 1,
        "task_id": 1,
        "video": str(video),
        "start": 0,
        "stop": STOP,
        "labeler": labeler,
        "model": None,
        "classes": None,
        "url": None,
        "min_score": 0.25,
        "min_iou": 0.8,
        "every": EVERY,
        "extra": {"input_size": 416} if labeler == "yolov3-tiny" else {},  # fast, and it travels
        "label_map": {"person": "pedestrian"},
        "data_dir": str(data),
        "span_frames": SPAN_FRAMES,
    }


def unsplit_result(params: dict[str, Any]) -> dict[str, Any]:
    """``autolabel_job``'s result computed in this process in one pass, as before the split."""
    video = Path(params["video"])
    options = labeler_options(min_score=params["min_score"], extra=params["extra"])
    labeler = make_labeler(params["labeler"], options)
    ref, index = video_ref(video, Settings(data_dir=Path(params["data_dir"])))
    frames = [f for f in every_nth(ref.frame_count, params["every"]) if f < params["stop"]]
    with VideoReader(video, index=index) as reader:
        found = label_frames(reader, labeler, frames)
    made = prelabel(found, params["stop"], min_iou=params["min_iou"])
    renamed = params["label_map"]
    return {
        "labeler": labeler.name,
        "frames": len(found),
        "detections": made.detections,
        "keyframes": made.keyframes,
        "classes": [{"label": c.label, **dict(c.attributes)} for c in made.classes],
        "predictions": [
            {**track.to_json(), "label": renamed.get(track.label, track.label)}
            for track in made.tracks
        ],
    }

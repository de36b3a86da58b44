"""Media: probing, the frame index, frame-exact reading, proxies, clips, frames, filmstrips, and
the storage (a folder or an S3-compatible store) where media and derived files live.

This package is the only importer of PyAV (an import-linter contract checks it). Frame *n* is
always the *n*-th frame in presentation order, looked up in the frame index.
"""

from tweenlab.media.clips import Clip, clip_ranges, split_video
from tweenlab.media.derived import DerivedFiles
from tweenlab.media.filmstrip import Filmstrip, make_filmstrip
from tweenlab.media.frames import (
    ExtractedFrame,
    check_targets,
    extract_frames,
    save_image,
    write_manifests,
)
from tweenlab.media.index import FrameIndex, build_index
from tweenlab.media.probe import KeyframeStats, VideoInfo, probe
from tweenlab.media.proxy import ProxyOptions, needs_proxy, write_proxy
from tweenlab.media.reader import Frame, VideoReader, frame_rgb
from tweenlab.media.sample import SampleClip, SampleObject, render_sample_clip
from tweenlab.media.storage import LocalStorage, S3Storage, Storage, storage_from_url
from tweenlab.media.writer import VideoWriter

__all__ = [
    "Clip",
    "DerivedFiles",
    "ExtractedFrame",
    "Filmstrip",
    "Frame",
    "FrameIndex",
    "KeyframeStats",
    "LocalStorage",
    "ProxyOptions",
    "S3Storage",
    "SampleClip",
    "SampleObject",
    "Storage",
    "VideoInfo",
    "VideoReader",
    "VideoWriter",
    "build_index",
    "check_targets",
    "clip_ranges",
    "extract_frames",
    "frame_rgb",
    "make_filmstrip",
    "needs_proxy",
    "probe",
    "render_sample_clip",
    "save_image",
    "split_video",
    "storage_from_url",
    "write_manifests",
    "write_proxy",
]

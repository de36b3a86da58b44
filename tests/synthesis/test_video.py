"""Repair and retime on generated videos, the media writer they use, and the ``synth`` CLI."""

from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from tests.conftest import shared_file
from tests.media.videos import make_corrupt_middle
from tests.synthesis.scenes import blend, psnr, shifted, texture
from tweenlab.cli._ui import run_with_boundary
from tweenlab.cli.main import cli
from tweenlab.errors import UsageError
from tweenlab.media import VideoReader, VideoWriter, build_index
from tweenlab.services.synthesize import extrapolate_video, retime_video
from tweenlab.settings import Settings
from tweenlab.synthesis import find_bad_frames, frame_stats, repair, retime, sample_times

FRAMES = 24
BLURRED, REPEATED = 8, 15
CORRUPT = 17  # a frame whose packet is overwritten with garbage
SPEED = (2.5, 1.0)  # pixels per frame


def truth(n: float) -> np.ndarray:
    return shifted(texture((128, 192), seed=7), SPEED[0] * n, SPEED[1] * n)


def damaged(n: int) -> np.ndarray:
    if n == BLURRED:
        return np.asarray(cv2.GaussianBlur(truth(n), (0, 0), 2.5))
    return truth(n - 1) if n == REPEATED else truth(n)


@pytest.fixture(scope="module")
def broken_video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("videos") / "broken.mp4"
    with VideoWriter(path, 192, 128, Fraction(1, 25), crf=8) as writer:
        for n in range(FRAMES):
            writer.write(damaged(n), pts=n)
    return path


def test_writer_keeps_frames_and_timestamps(broken_video: Path) -> None:
    index = build_index(broken_video)
    assert len(index) == FRAMES
    assert index.seconds(FRAMES - 1) == Fraction(FRAMES - 1, 25)
    with VideoReader(broken_video) as reader:
        assert psnr(damaged(3), reader[3]) > 28.0  # 4:2:0 chroma costs a few dB


def test_bad_frames_are_found_in_memory() -> None:
    frames: list[np.ndarray | None] = [damaged(n) for n in range(FRAMES)]
    frames[20] = None
    found = {(b.frame, b.reason) for b in find_bad_frames(frame_stats(frames))}
    assert found == {(BLURRED, "blurred"), (REPEATED, "repeat"), (20, "undecodable")}


def test_repair_replaces_blurred_and_repeated_frames(broken_video: Path, tmp_path: Path) -> None:
    out = tmp_path / "fixed.mp4"
    report = repair(broken_video, out)
    assert [(b.frame, b.reason) for b in report.replaced] == [
        (BLURRED, "blurred"),
        (REPEATED, "repeat"),
    ]
    assert report.replaced[0].between == (BLURRED - 1, BLURRED + 1)
    assert report.replaced[0].t == 0.5
    assert report.left == []
    with VideoReader(out) as fixed, VideoReader(broken_video) as source:
        assert len(fixed) == FRAMES
        for n in (BLURRED, REPEATED):
            before, after = psnr(truth(n), source[n]), psnr(truth(n), fixed[n])
            assert after > before + 3.0, f"frame {n}: {after:.2f} dB, was {before:.2f} dB"
    assert report.to_json()["replaced"][0]["reason"] == "blurred"


def test_retime_doubles_the_rate(broken_video: Path, tmp_path: Path) -> None:
    clean = tmp_path / "clean.mp4"
    with VideoWriter(clean, 192, 128, Fraction(1, 10), crf=8) as writer:
        for n in range(6):
            writer.write(truth(n), pts=n)
    done = retime(clean, tmp_path / "double.mp4", factor=2)
    assert (done.frames, done.synthesised) == (11, 5)
    with VideoReader(done.path) as reader:
        assert len(reader) == 11
        assert reader.index.seconds(1) == Fraction(1, 20)
        # the output is encoded again (crf 18, 4:2:0): compare with its own frames
        made, still = psnr(truth(2.5), reader[5]), psnr(truth(2.5), reader[4])
        mixed = psnr(truth(2.5), blend(reader[4], reader[6], 0.5))
        assert made > max(still + 3.0, mixed), f"{made:.2f} dB, {still:.2f}, {mixed:.2f}"


def test_retime_repeats_frames_across_a_cut(tmp_path: Path) -> None:
    """Between the last frame of one shot and the first of the next, the samples repeat the
    nearer frame; elsewhere they are synthesised. The service finds the cut itself."""
    other = texture((128, 192), seed=11)
    frames = [truth(n) for n in range(4)] + [shifted(other, 2.0 * n, 0) for n in range(4)]
    video = tmp_path / "two-shots.mp4"
    with VideoWriter(video, 192, 128, Fraction(1, 10), crf=8) as writer:
        for n, frame in enumerate(frames):
            writer.write(frame, pts=n)
    done = retime(video, tmp_path / "x4.mp4", factor=4, cuts=[4])
    assert (done.frames, done.synthesised) == (29, 21 - 3)
    with VideoReader(done.path) as out:  # encoded again: compare with its own frames 3 and 4
        for j, nearer in ((13, 12), (14, 16), (15, 16)):  # 3 + 1/4, 3 + 1/2, 3 + 3/4
            assert psnr(out[nearer], out[j]) > 40.0, f"sample {j}"
        assert psnr(out[12], out[13]) > psnr(out[16], out[13]) + 10.0
        assert psnr(out[8], out[9]) < 40.0, "within a shot, samples are synthesised"
    settings = Settings(data_dir=tmp_path / "data")
    served = retime_video(video, tmp_path / "served.mp4", settings, factor=4)
    assert served.synthesised == done.synthesised, "the keyframe analysis found the cut at 4"


def test_sample_times_at_a_frame_rate(broken_video: Path) -> None:
    time_base, times = sample_times(build_index(broken_video), fps=Fraction(50))
    assert time_base == Fraction(1, 50)
    assert times[:3] == [(0, 0, Fraction(0)), (1, 0, Fraction(1, 2)), (2, 1, Fraction(0))]
    with pytest.raises(UsageError, match="one of factor or fps"):
        sample_times(build_index(broken_video))


def test_retime_to_a_higher_rate_is_served(broken_video: Path, tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data")
    done = retime_video(broken_video, tmp_path / "x.mp4", settings, fps=Fraction(50))
    assert done.frames == 2 * FRAMES - 1 and done.time_base == Fraction(1, 50)


@pytest.mark.parametrize(
    ("fps", "shown"),
    [pytest.param(Fraction(10), "10", id="lower"), pytest.param(Fraction(25), "25", id="same")],
)
def test_retime_refuses_a_rate_not_above_the_video(
    broken_video: Path, tmp_path: Path, fps: Fraction, shown: str
) -> None:
    """Sampled at or below its own rate, a video loses frames; retiming makes a higher rate."""
    out = tmp_path / "x.mp4"
    settings = Settings(data_dir=tmp_path / "data")
    with pytest.raises(
        UsageError, match=rf"--fps {shown}: not above broken.mp4's frame rate, 25 fps"
    ):
        retime_video(broken_video, out, settings, fps=fps)
    assert not out.exists()


@pytest.mark.shared_data
def test_retime_refuses_a_lower_rate_on_a_real_clip(
    tmp_path: Path, settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    clip = shared_file("clips/bgs-traffic-topdown.avi")  # 30 fps, 374 frames
    out = tmp_path / "slower.mp4"
    with pytest.raises(
        UsageError, match=r"--fps 10: not above bgs-traffic-topdown\.avi's frame rate, 30 fps"
    ):
        retime_video(clip, out, settings, fps=Fraction(10))
    code, _, err = run(capsys, "synth", "retime", clip, "--fps", "30000/1001", "--out", out)
    assert code == 2 and "--fps 29.97 (30000/1001): not above" in err and "30 fps" in err
    assert not out.exists()


def test_one_frame_video_is_refused(tmp_path: Path) -> None:
    single = tmp_path / "single.mp4"
    with VideoWriter(single, 64, 48, Fraction(1, 25)) as writer:
        writer.write(np.zeros((48, 64, 3), np.uint8), pts=0)
    with pytest.raises(UsageError, match="retiming needs 2"):
        retime(single, tmp_path / "out.mp4", factor=2)
    with pytest.raises(UsageError, match="repair needs 3"):
        repair(single, tmp_path / "out.mp4")


# --- the CLI -------------------------------------------------------------------------------


def run(capsys: pytest.CaptureFixture[str], *args: str | Path) -> tuple[int, str, str]:
    code = run_with_boundary(cli, [str(arg) for arg in args])
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_interpolate_round_trip(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    first, last = tmp_path / "a.png", tmp_path / "b.png"
    Image.fromarray(truth(0)).save(first)
    Image.fromarray(truth(4)).save(last)
    out = tmp_path / "m.png"
    code, printed, _ = run(capsys, "synth", "interpolate", first, last, "--t", "0.5", "--out", out)
    assert code == 0 and printed.strip() == str(out)
    assert psnr(truth(2), np.asarray(Image.open(out))) > 32.0
    code, printed, _ = run(
        capsys, "synth", "interpolate", first, last, "--t", "0.25", "--t", "0.75", "--out", out
    )
    assert code == 0 and printed.split() == [str(tmp_path / "m_1.png"), str(tmp_path / "m_2.png")]


BAD_CLI = [
    pytest.param(["--t", "1.5"], "outside (0, 1)", id="t-outside"),
    pytest.param(["--engine", "nope"], "no plugin named 'nope'", id="engine"),
    pytest.param(["--grey"], "mode L image", id="grey-image"),
    pytest.param(["--missing"], "no such file", id="missing"),
]


@pytest.mark.parametrize(("extra", "message"), BAD_CLI)
def test_cli_interpolate_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], extra: list[str], message: str
) -> None:
    first, last = tmp_path / "a.png", tmp_path / "b.png"
    Image.fromarray(truth(0)).save(first)
    Image.fromarray(truth(1)).save(last)
    if extra == ["--grey"]:
        Image.fromarray(truth(1)[..., 0]).save(last)
        extra = []
    if extra == ["--missing"]:
        last, extra = tmp_path / "none.png", []
    code, _, err = run(
        capsys, "synth", "interpolate", first, last, "--out", tmp_path / "m.png", *extra
    )
    assert code == 2 and message in err


def test_cli_repair_and_retime(
    broken_video: Path, tmp_path: Path, settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    report = tmp_path / "report.json"
    out = tmp_path / "fixed.mp4"
    code, printed, _ = run(
        capsys, "synth", "repair", broken_video, "--out", out, "--report", report
    )
    assert code == 0 and f"2 of {FRAMES} frames replaced" in printed
    assert [r["frame"] for r in json.loads(report.read_text())["replaced"]] == [BLURRED, REPEATED]
    code, printed, _ = run(
        capsys, "synth", "retime", broken_video, "--factor", "2", "--out", tmp_path / "x2.mp4"
    )
    assert code == 0 and json.loads(printed)["frames"] == 2 * FRAMES - 1
    assert len(build_index(tmp_path / "x2.mp4")) == 2 * FRAMES - 1
    assert any(settings.derived_dir.rglob("flow-*/*.npy")), "retime fills the flow cache"
    code, _, err = run(capsys, "synth", "retime", broken_video, "--out", tmp_path / "y.mp4")
    assert code == 2 and "one of --factor or --fps" in err


# --- extrapolation ---------------------------------------------------------------------------


def test_extrapolate_continues_the_video(
    broken_video: Path, tmp_path: Path, settings: Settings
) -> None:
    out = tmp_path / "next"
    rows = extrapolate_video(broken_video, out, settings, count=2)
    last = FRAMES - 1
    assert [(r.after, r.step, r.frame) for r in rows] == [(last, 1, FRAMES), (last, 2, FRAMES + 1)]
    index = build_index(broken_video)
    assert rows[1].seconds == pytest.approx(float(index.seconds(last)) + 2 / 25)
    with VideoReader(broken_video) as reader:
        held = reader[last]
    for row in rows:
        made = np.asarray(Image.open(out / row.file))
        moved, kept = psnr(truth(row.frame), made), psnr(truth(row.frame), held)
        assert moved > kept + 5.0, f"step {row.step}: {moved:.2f} dB, holding {kept:.2f} dB"
    manifest = json.loads((out / "manifest.json").read_text())
    assert [m["file"] for m in manifest] == [r.file for r in rows]
    assert all(m["synthetic"] and m["engine"] == "flow" for m in manifest)
    header = (out / "manifest.csv").read_text().splitlines()[0]
    assert header == "source,after,step,frame,seconds,file,engine,synthetic"


def test_extrapolate_after_a_chosen_frame(
    broken_video: Path, tmp_path: Path, settings: Settings
) -> None:
    (row,) = extrapolate_video(broken_video, tmp_path, settings, count=1, after=4)
    assert (row.frame, row.file) == (5, "broken_000004_next1.png")
    made = np.asarray(Image.open(tmp_path / row.file))
    assert psnr(truth(5), made) > psnr(truth(5), truth(4)) + 5.0


@pytest.mark.parametrize(
    ("options", "message"),
    [
        pytest.param({"after": 0}, "--after 0: outside", id="first-frame"),
        pytest.param({"after": FRAMES}, f"--after {FRAMES}: outside", id="past-the-end"),
        pytest.param({"count": 0}, "--count must be from 1 to 1000, got 0", id="count"),
        pytest.param({"count": 1001}, "--count must be from 1 to 1000", id="count-too-large"),
        pytest.param({"engine": "dvf"}, "engine 'dvf' cannot extrapolate", id="deep-engine"),
    ],
)
def test_extrapolate_refuses_bad_input(
    broken_video: Path, tmp_path: Path, settings: Settings, options: dict, message: str
) -> None:
    out = tmp_path / "none"
    with pytest.raises(UsageError, match=message):
        extrapolate_video(broken_video, out, settings, **{"count": 1, **options})
    assert not out.exists(), "nothing is written for refused input"


def test_extrapolate_refuses_a_one_frame_video(tmp_path: Path, settings: Settings) -> None:
    single = tmp_path / "single.mp4"
    with VideoWriter(single, 64, 48, Fraction(1, 25)) as writer:
        writer.write(np.zeros((48, 64, 3), np.uint8), pts=0)
    with pytest.raises(UsageError, match="needs 2 frames, the video has 1"):
        extrapolate_video(single, tmp_path / "out", settings, count=1)


def test_cli_extrapolate(
    broken_video: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "next"
    code, printed, _ = run(
        capsys,
        "synth",
        "extrapolate",
        broken_video,
        "--count",
        "3",
        "--out",
        out,
        "--format",
        "jpg",
    )
    names = [f"broken_{FRAMES - 1:06d}_next{k}.jpg" for k in (1, 2, 3)]
    assert code == 0 and printed.split() == [str(out / name) for name in names]
    assert all((out / name).is_file() for name in names)
    code, _, err = run(capsys, "synth", "extrapolate", broken_video, "--after", "0")
    assert code == 2 and "--after 0: outside" in err


def test_cli_extrapolate_writes_all_or_nothing(
    broken_video: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A folder where an image or a manifest goes is refused before any is written (the
    images before it were left, without a manifest); the frames are made in a temporary
    folder beside ``--out`` and moved in only when all of them and the manifests are done."""
    out = tmp_path / "next"
    (out / "manifest.json").mkdir(parents=True)
    code, _, err = run(capsys, "synth", "extrapolate", broken_video, "--count", "3", "--out", out)
    assert code == 2 and "manifest.json: is a folder" in err, err
    assert sorted(p.name for p in out.iterdir()) == ["manifest.json"]
    (out / "manifest.json").rmdir()
    code, _, err = run(capsys, "synth", "extrapolate", broken_video, "--count", "2", "--out", out)
    assert code == 0, err
    assert sorted(p.name for p in out.iterdir()) == [
        f"broken_{FRAMES - 1:06d}_next1.png",
        f"broken_{FRAMES - 1:06d}_next2.png",
        "manifest.csv",
        "manifest.json",
    ]
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []


def test_cli_interpolate_checks_every_output_and_names_both_sizes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    first, last, small = tmp_path / "a.png", tmp_path / "b.png", tmp_path / "small.png"
    Image.fromarray(truth(0)).save(first)
    Image.fromarray(truth(2)).save(last)
    Image.fromarray(truth(2)[:32, :48]).save(small)
    (tmp_path / "m_2.png").mkdir()  # m_1.png was written, then the command failed
    code, _, err = run(
        capsys, "synth", "interpolate", first, last, "--t", "0.3", "--t", "0.6", "--out",
        tmp_path / "m.png",
    )  # fmt: skip
    assert code == 2 and "m_2.png: is a folder" in err and not (tmp_path / "m_1.png").exists()
    code, _, err = run(capsys, "synth", "interpolate", first, last, "--out", tmp_path / "m_2.png")
    assert code == 2 and "--out" in err and "is a folder" in err, err
    code, _, err = run(capsys, "synth", "interpolate", first, small, "--out", tmp_path / "x.png")
    assert code == 2 and f"{first} is " in err and f"{small} 48x32" in err, err
    code, _, err = run(capsys, "synth", "interpolate", first, last, "--out", first)
    assert code == 2 and "is also FRAME0" in err, err


def test_repair_replaces_a_frame_whose_packet_is_corrupt(tmp_path: Path) -> None:
    clean = tmp_path / "clean.mp4"
    with VideoWriter(clean, 192, 128, Fraction(1, 25), crf=8) as writer:
        for n in range(FRAMES):
            writer.write(truth(n), pts=n)
    corrupt = make_corrupt_middle(clean, tmp_path / "corrupt.mp4", CORRUPT)
    report = repair(corrupt, tmp_path / "fixed.mp4")
    assert (CORRUPT, "undecodable") in [(b.frame, b.reason) for b in report.replaced]
    with VideoReader(tmp_path / "fixed.mp4") as fixed:
        assert len(fixed) == FRAMES
        made, before = fixed[CORRUPT], fixed[CORRUPT - 1]
    # as close to the truth as the codec keeps the frame before, and far closer than holding it
    assert psnr(truth(CORRUPT), made) > psnr(truth(CORRUPT - 1), before) - 3.0
    assert psnr(truth(CORRUPT), made) > psnr(truth(CORRUPT), before) + 6.0

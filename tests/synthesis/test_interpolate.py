"""``flow`` interpolation: known sub-pixel motion, Middlebury, several times, bad input."""

from __future__ import annotations

import importlib
import sys

import numpy as np
import pytest
from PIL import Image

from tests.conftest import shared_file
from tests.synthesis.scenes import blend, dark_block, psnr, shifted, texture
from tweenlab.errors import PluginError, UsageError
from tweenlab.synthesis import (
    FlowSynthesizer,
    FrameSynthesizer,
    check_times,
    interpolate,
    synthesizer,
)
from tweenlab.synthesis.base import single_time
from tweenlab.synthesis.flow import PairFlow


@pytest.fixture(scope="module")
def engine() -> FlowSynthesizer:
    built = synthesizer("flow")
    assert isinstance(built, FlowSynthesizer)
    return built


MOTIONS = [
    pytest.param(3.4, 1.7, 0.5, id="half-small"),
    pytest.param(7.3, -2.6, 0.5, id="half-larger"),
    pytest.param(6.2, 3.1, 0.25, id="quarter"),
    pytest.param(-5.5, 4.25, 0.75, id="three-quarters"),
]


@pytest.mark.parametrize(("dx", "dy", "t"), MOTIONS)
def test_known_motion_is_recovered(engine: FlowSynthesizer, dx: float, dy: float, t: float) -> None:
    base = texture()
    frame0, frame1 = shifted(base, 0, 0), shifted(base, dx, dy)
    truth = shifted(base, t * dx, t * dy)
    made = engine.interpolate(frame0, frame1, t)
    assert made.shape == frame0.shape and made.dtype == np.uint8
    ours, mixed = psnr(truth, made), psnr(truth, blend(frame0, frame1, t))
    assert ours > 32.0, f"{ours:.2f} dB"
    assert ours > mixed + 8.0, f"flow {ours:.2f} dB vs blend {mixed:.2f} dB"


def test_several_times_share_one_flow(engine: FlowSynthesizer) -> None:
    base = texture(seed=3)
    frame0, frame1 = shifted(base, 0, 0), shifted(base, 6, 2)
    times = [0.25, 0.5, 0.75]
    made = engine.interpolate(frame0, frame1, times)
    assert isinstance(made, list) and len(made) == 3
    for t, frame in zip(times, made, strict=True):
        np.testing.assert_array_equal(frame, engine.interpolate(frame0, frame1, t))
        assert psnr(shifted(base, 6 * t, 2 * t), frame) > 32.0


def test_extrapolation_continues_the_motion(engine: FlowSynthesizer) -> None:
    base = texture(seed=5)
    frames = [shifted(base, 2.5 * i, -1.0 * i) for i in range(2)]
    after = engine.extrapolate(frames, 2)
    for step, frame in enumerate(after, start=1):
        truth = shifted(base, 2.5 * (1 + step), -1.0 * (1 + step))
        ours, still = psnr(truth, frame, margin=16), psnr(truth, frames[-1], margin=16)
        assert ours > still + 6.0, f"step {step}: {ours:.2f} dB vs repeating {still:.2f} dB"


@pytest.mark.shared_data
def test_middlebury_triplet(engine: FlowSynthesizer) -> None:
    folder = shared_file("triplets/middlebury/frame10.png").parent
    first, middle, last = (
        np.asarray(Image.open(folder / name).convert("RGB"))
        for name in ("frame10.png", "frame10i11.png", "frame11.png")
    )
    made = engine.interpolate(first, last, 0.5)
    ours, mixed = psnr(middle, made, margin=0), psnr(middle, blend(first, last, 0.5), margin=0)
    assert ours > mixed + 3.0, f"flow {ours:.2f} dB vs blend {mixed:.2f} dB"
    assert ours >= 34.0, f"{ours:.2f} dB (basic DIS interpolation: 34.04 dB)"


@pytest.mark.parametrize(
    ("size", "options", "scale"),
    [
        ((144, 176), {}, 1.0),  # QCIF: half would be 88 px wide, too few for DIS's patches
        ((180, 240), {}, 1.0),
        ((240, 320), {}, 0.5),
        ((720, 1280), {}, 0.5),
        ((1080, 1920), {}, 640 / 1920),  # flow_side caps the longer side
        ((144, 176), {"min_side": 8}, 0.5),
    ],
    ids=["176x144", "240x180", "320x240", "720p", "1080p", "176x144-halved"],
)
def test_small_frames_keep_their_size_for_flow(
    size: tuple[int, int], options: dict[str, int], scale: float
) -> None:
    frames = [np.zeros((*size, 3), np.uint8) for _ in range(2)]
    flow = FlowSynthesizer(**options).flows(*frames)  # type: ignore[arg-type]
    assert flow.scale == pytest.approx(scale, abs=1e-3)


def test_eval_vfi_takes_the_interpolate_function(engine: FlowSynthesizer) -> None:
    # the harness's own loader, as `eval_vfi.py --method 'tweenlab=tweenlab.synthesis:interpolate'`
    tools = shared_file("../tools/vfi_baselines.py").parent
    sys.path.insert(0, str(tools))
    try:
        baselines = importlib.import_module("vfi_baselines")
    finally:
        sys.path.remove(str(tools))
    name, method = baselines.make_method("tweenlab=tweenlab.synthesis:interpolate")
    base = texture((96, 128), seed=3)
    frame0, frame1 = shifted(base, 0, 0), shifted(base, 4.0, -2.0)
    made = method(frame0, frame1, t=0.5)
    assert name == "tweenlab"
    assert made.dtype == np.uint8 and made.shape == frame0.shape
    np.testing.assert_array_equal(made, engine.interpolate(frame0, frame1, 0.5))
    assert psnr(shifted(base, 2.0, -1.0), made) > 40.0


def test_registry_builds_engines() -> None:
    assert isinstance(synthesizer(), FrameSynthesizer)
    assert isinstance(synthesizer("flow", flow_side=320), FlowSynthesizer)
    with pytest.raises(PluginError, match="no plugin named 'nope'"):
        synthesizer("nope")


GOOD = np.zeros((32, 48, 3), np.uint8)
BAD_INPUT = [
    pytest.param(GOOD, np.zeros((32, 40, 3), np.uint8), 0.5, "differ in size", id="sizes"),
    pytest.param(GOOD[..., 0], GOOD, 0.5, r"frame0: expected \(H, W, 3\)", id="grey"),
    pytest.param(GOOD, np.zeros((32, 48, 4), np.uint8), 0.5, "frame1: expected", id="rgba"),
    pytest.param(GOOD.astype(np.float32), GOOD, 0.5, "uint8", id="float"),
    pytest.param([[0]], GOOD, 0.5, "array", id="not-an-array"),
    pytest.param(GOOD, GOOD, 0.0, r"outside \(0, 1\)", id="t-zero"),
    pytest.param(GOOD, GOOD, 1.0, r"outside \(0, 1\)", id="t-one"),
    pytest.param(GOOD, GOOD, -0.2, r"outside \(0, 1\)", id="t-negative"),
    pytest.param(GOOD, GOOD, [0.5, 1.5], "1.5 is outside", id="t-list"),
    pytest.param(GOOD, GOOD, [], "no times", id="t-empty"),
    pytest.param(GOOD, GOOD, "0.5", r"t: '0.5' is not a number$", id="t-str"),
    pytest.param(GOOD, GOOD, b"0.5", r"t: b'0.5' is not a number$", id="t-bytes"),
    pytest.param(GOOD, GOOD, ["0.5"], r"t: '0.5' is not a number$", id="t-str-in-list"),
    pytest.param(GOOD, GOOD, None, "None is not a number or a sequence", id="t-none"),
    pytest.param(GOOD, GOOD, True, "True is not a number", id="t-bool"),
    pytest.param(GOOD, GOOD, np.float32(1.5), r"1.5 is outside \(0, 1\)", id="t-numpy-outside"),
]


@pytest.mark.parametrize(("frame0", "frame1", "t", "message"), BAD_INPUT)
def test_bad_input_is_refused(
    engine: FlowSynthesizer, frame0: object, frame1: object, t: object, message: str
) -> None:
    with pytest.raises(UsageError, match=message):
        engine.interpolate(frame0, frame1, t)  # type: ignore[arg-type]


ONE_TIME = [
    pytest.param(0.5, id="float"),
    pytest.param(np.float32(0.5), id="numpy-float32"),
    pytest.param(np.float64(0.5), id="numpy-float64"),
    pytest.param(np.array(0.5), id="0-d-array"),
    pytest.param(np.array(0.5, np.float16), id="0-d-float16"),
]


@pytest.mark.parametrize("t", ONE_TIME)
def test_a_numpy_scalar_is_one_time(t: object) -> None:
    assert check_times(t) == [0.5]
    assert single_time(t)
    first, second = (
        shifted(texture((32, 48), seed=2), 0, 0),
        shifted(texture((32, 48), seed=2), 2, 0),
    )
    made = interpolate(first, second, t)  # type: ignore[arg-type]
    assert isinstance(made, np.ndarray) and made.shape == first.shape
    engine = FlowSynthesizer().interpolate(first, second, t)  # type: ignore[arg-type]
    assert isinstance(engine, np.ndarray) and engine.shape == first.shape


@pytest.mark.parametrize(
    ("t", "expected"),
    [
        pytest.param(np.array([0.25, 0.5], np.float32), [0.25, 0.5], id="1-d-array"),
        pytest.param([np.float32(0.25), np.array(0.75)], [0.25, 0.75], id="list-of-numpy"),
        pytest.param((0.5,), [0.5], id="tuple-of-one"),
    ],
)
def test_sequences_of_times(t: object, expected: list[float]) -> None:
    assert check_times(t) == expected and not single_time(t)


def test_the_plain_function_takes_one_time() -> None:
    with pytest.raises(UsageError, match="one time, not 2"):
        interpolate(GOOD, GOOD, [0.25, 0.5])  # type: ignore[arg-type]


def test_extrapolation_needs_two_frames(engine: FlowSynthesizer) -> None:
    with pytest.raises(UsageError, match="at least 2 frames"):
        engine.extrapolate([GOOD], 1)


RENDERINGS = [
    pytest.param({}, id="default"),
    pytest.param({"agree_grey": 0.0, "blur_speed": 0.0}, id="bilinear-only"),
    pytest.param({"cubic": True}, id="bicubic-everywhere"),
    pytest.param({"flow_median": 0}, id="no-median"),
]


@pytest.mark.parametrize("options", RENDERINGS)
def test_renderings_recover_known_motion(options: dict[str, object]) -> None:
    engine = FlowSynthesizer(**options)  # type: ignore[arg-type]
    base = texture(seed=7)
    frame0, frame1 = shifted(base, 0, 0), shifted(base, 5.3, -2.2)
    made = engine.interpolate(frame0, frame1, 0.5)
    assert psnr(shifted(base, 2.65, -1.1), made) > 32.0


def test_agreeing_frames_are_warped_bicubically() -> None:
    """Where both warped frames agree (here: everywhere), bicubic sampling keeps the texture
    that bilinear sampling blurs."""
    base = texture(seed=9)
    frame0, frame1 = shifted(base, 0, 0), shifted(base, 3.0, 1.0)
    truth = shifted(base, 1.5, 0.5)
    sharp = FlowSynthesizer(blur_speed=0.0).interpolate(frame0, frame1, 0.5)
    soft = FlowSynthesizer(agree_grey=0.0, blur_speed=0.0).interpolate(frame0, frame1, 0.5)
    assert psnr(truth, sharp) > psnr(truth, soft)


def test_fast_motion_is_softened() -> None:
    base = texture(seed=11)
    frame0, frame1 = shifted(base, 0, 0), shifted(base, 30.0, 0.0)

    def detail(engine: FlowSynthesizer) -> float:
        made = engine.interpolate(frame0, frame1, 0.5).astype(np.float32)
        return float(np.abs(np.diff(made[16:-16, 16:-16], axis=1)).mean())

    assert detail(FlowSynthesizer(blur_speed=20.0)) < detail(FlowSynthesizer(blur_speed=0.0))


def test_a_misregistered_flow_is_aligned_between_the_two_frames() -> None:
    """Flows that miss the motion by a pixel and a half each way: the frames warped to t land
    3 px apart (a doubled, ghosted texture); the alignment moves each half way to the other."""
    base = texture(seed=13)
    frame0, frame1 = shifted(base, 0, 0), shifted(base, 8.0, 0.0)
    truth = shifted(base, 4.0, 0.0)
    height, width = frame0.shape[:2]
    forward = np.zeros((height, width, 2), np.float32)
    backward = np.zeros((height, width, 2), np.float32)
    forward[..., 0], backward[..., 0] = 5.0, -5.0  # the true motion is 8 px: both 3 px short
    flow = PairFlow(forward, backward, 1.0)

    def made(engine: FlowSynthesizer) -> float:
        return psnr(truth, engine.interpolate_with(frame0, frame1, flow, [0.5])[0])

    plain = made(FlowSynthesizer(blur_speed=0.0))
    aligned = made(FlowSynthesizer(align_grey=20.0, blur_speed=0.0))
    assert aligned > plain + 3.0, (aligned, plain)


def test_large_motion_is_followed_from_tracked_corners() -> None:
    """A dark block moving 60 px (30 at the working size) past DIS's coarsest scale: DIS alone
    leaves it twice, faintly; the flow seeded from its tracked corners puts it once."""
    frame0, truth, frame1 = dark_block(100), dark_block(130), dark_block(160)
    plain = psnr(truth, FlowSynthesizer(seed_points=0).interpolate(frame0, frame1, 0.5))
    seeded = psnr(truth, FlowSynthesizer().interpolate(frame0, frame1, 0.5))
    assert seeded > plain + 3.0, (seeded, plain)


def test_corners_that_agree_with_the_flow_change_nothing() -> None:
    """Small motion that DIS follows: the tracked corners agree with it, so no second flow is
    made and the frame is the one made without corners, to the bit."""
    base = texture(seed=21)
    frame0, frame1 = shifted(base, 0, 0), shifted(base, 3.0, -2.0)
    seeded = FlowSynthesizer().interpolate(frame0, frame1, 0.5)
    assert np.array_equal(seeded, FlowSynthesizer(seed_points=0).interpolate(frame0, frame1, 0.5))


@pytest.mark.parametrize(
    "name",
    ["agree_grey", "blur_speed", "blur_sigma", "align_grey", "variational", "seed_points"],
)
def test_negative_tunables_are_refused(name: str) -> None:
    with pytest.raises(UsageError, match="0 or more"):
        FlowSynthesizer(**{name: -1})  # type: ignore[arg-type]


def test_flow_median_side_is_checked() -> None:
    with pytest.raises(UsageError, match="not 0, 3 or 5"):
        FlowSynthesizer(flow_median=4)


def test_min_side_is_checked() -> None:
    with pytest.raises(UsageError, match="min_side: 4 is too small"):
        FlowSynthesizer(min_side=4)

"""``GET /api/labelers``: the registered labelers a pre-label form offers, with what each needs.

The list is the registry's, so a labeler registered at run time (as a third-party plugin would
be) shows up with its ``needs`` mark and its module's description.
"""

from __future__ import annotations

import pytest

from tests.server.conftest import Api
from tweenlab.autolabel import LabelerOptions, needs
from tweenlab.plugins import registry

BUILTINS = {
    "yolov3-tiny": [],
    "mtcnn": [],
    "hog-people": [],
    "motion": [],
    "onnx": ["model"],
    "http": ["url"],
}


@needs("url", "classes")
def _remote(options: LabelerOptions) -> object:
    """A remote model, for this test."""
    raise AssertionError("never built by a listing")


@pytest.fixture
def extra_labeler(monkeypatch: pytest.MonkeyPatch) -> str:
    """``test-remote``, registered for this test only (as an entry point would add it)."""
    monkeypatch.setitem(registry("labelers")._targets, "test-remote", _remote)
    return "test-remote"


def test_lists_the_builtins_with_what_they_need(api: Api) -> None:
    who = api.account("m@example.com")
    answer = api.client.get("/api/labelers", headers=who.headers)
    assert answer.status_code == 200, answer.text
    listed = {item["name"]: item for item in answer.json()}
    assert {name: listed[name]["needs"] for name in BUILTINS} == BUILTINS
    assert [item["name"] for item in answer.json()] == sorted(listed)
    assert [name for name, item in listed.items() if item["default"]] == ["yolov3-tiny"]
    assert all(listed[name]["error"] is None for name in BUILTINS)
    assert listed["motion"]["description"].startswith("The motion built-in: class-agnostic boxes")
    assert "``" not in listed["onnx"]["description"]


def test_lists_a_labeler_registered_later(api: Api, extra_labeler: str) -> None:
    who = api.account("m@example.com")
    listed = {i["name"]: i for i in api.client.get("/api/labelers", headers=who.headers).json()}
    assert listed[extra_labeler]["needs"] == ["url", "classes"]
    assert listed[extra_labeler]["description"].startswith("GET /api/labelers: the registered")


def test_needs_refuses_a_field_labeler_options_lacks() -> None:
    with pytest.raises(ValueError, match="weights"):
        needs("weights")


def test_anonymous_is_refused(api: Api) -> None:
    assert api.client.get("/api/labelers").status_code == 401

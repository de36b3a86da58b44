"""The guidelines panel in Chromium: the project's Markdown rendered with its example frames as
images of exactly the frames named, and nothing in the Markdown run as HTML."""

from __future__ import annotations

import base64
import io
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from tests.browser.conftest import Live, expect, sign_in
from tests.media.videos import make_video, read_stamp


def test_guidelines_render_markdown_and_exact_example_frames(
    live: Live, page: Any, tmp_path: Path
) -> None:
    owner = live.person("owner@example.com")
    project = live.call(owner, "POST", "/projects", 201, json={"name": "cars"})["id"]
    video = live.upload(owner, project, make_video(tmp_path / "clip.mp4", frames=40))
    markdown = (
        "# Cars\n\nBox **every** car, even `parked` ones. <script>window.hacked = 1</script>\n\n"
        f"- wheels count\n- mirrors do not\n\n![a half-hidden car](frame:{video['id']}/21)"
    )
    live.call(owner, "PATCH", f"/projects/{project}", json={"guidelines": markdown})

    sign_in(page, "owner@example.com")
    page.evaluate(
        """async (projectId) => {
            const [{ mountGuidelines }, api] = await Promise.all([
                import("/guidelines.js"), import("/api.js")]);
            const root = document.getElementById("app");
            root.replaceChildren();
            await mountGuidelines(root, { api, projectId });
        }""",
        project,
    )
    panel = page.locator("[data-testid=guidelines]")
    expect(panel.locator("h2")).to_have_text("Cars")
    expect(panel.locator("strong")).to_have_text("every")
    expect(panel.locator("li")).to_have_count(2)
    assert "<script>" in panel.inner_text() and page.evaluate("window.hacked") is None
    image = panel.locator("figure.example img")
    expect(image).to_have_attribute("alt", "a half-hidden car")
    page.wait_for_function("document.querySelector('figure.example img').complete")
    shown = page.evaluate(
        """() => {
            const img = document.querySelector('figure.example img');
            const canvas = document.createElement('canvas');
            canvas.width = img.naturalWidth; canvas.height = img.naturalHeight;
            canvas.getContext('2d').drawImage(img, 0, 0);
            return canvas.toDataURL('image/png');
        }"""
    )
    png = Image.open(io.BytesIO(base64.b64decode(shown.split(",", 1)[1])))
    assert read_stamp(np.asarray(png.convert("RGB"))) == 21


def test_a_manager_writes_guidelines_on_the_project_page_and_a_bad_frame_is_named(
    live: Live, page: Any, tmp_path: Path
) -> None:
    owner = live.person("owner@example.com")
    project = live.call(owner, "POST", "/projects", 201, json={"name": "cars"})["id"]
    video = live.upload(owner, project, make_video(tmp_path / "clip.mp4", frames=30))["id"]
    sign_in(page, "owner@example.com")
    page.goto(f"/#/projects/{project}")
    form = page.locator("[data-testid=guidelines-form]")
    form.locator("textarea").fill(f"# Rules\n\n![too far](frame:{video}/30)")
    form.locator("[data-testid=save-guidelines]").click()
    expect(page.locator("[data-testid=guidelines-error]")).to_contain_text("line 3")
    assert live.call(owner, "GET", f"/projects/{project}")["guidelines"] == ""
    form.locator("textarea").fill(f"# Rules\n\n![a good one](frame:{video}/29)")
    form.locator("[data-testid=save-guidelines]").click()
    shown = page.locator("[data-testid=guidelines-section] figure.example")
    expect(shown).to_have_attribute("data-frame", "29")
    stored = live.call(owner, "GET", f"/projects/{project}")["guidelines"]
    assert stored == f"# Rules\n\n![a good one](frame:{video}/29)"

"""The web app's shell in Chromium: served by the API server itself, sign in and out through the
form, a wrong password named on the page, and a reload that keeps the session (and its CSRF
token, so writes still work)."""

from __future__ import annotations

from typing import Any

from tests.browser.conftest import Live, expect, sign_in


def test_the_server_serves_the_app_and_a_person_signs_in_and_out(live: Live, page: Any) -> None:
    owner = live.person("owner@example.com")
    live.call(owner, "POST", "/projects", 201, json={"name": "cars"})
    page.goto("/")
    page.wait_for_selector("[data-testid=login]")  # not signed in: the login form
    page.fill("input[name=email]", "owner@example.com")
    page.fill("input[name=password]", "wrong password")
    page.click("button[type=submit]")
    expect(page.locator("[data-testid=login-error]")).to_contain_text("password")
    sign_in(page, "owner@example.com")
    assert page.locator("[data-testid=user]").inner_text() == "owner@example.com"
    page.wait_for_selector("text=cars")
    page.reload()  # the cookie and the CSRF token survive a reload
    page.wait_for_selector("[data-testid=user]")
    assert page.evaluate("sessionStorage.getItem('tweenlab.csrf')")
    page.click("[data-testid=logout]")
    page.wait_for_selector("[data-testid=login]")
    answer = page.evaluate("fetch('/api/auth/me').then(r => r.status)")
    assert answer == 401

"""Who may reach what: sign-in everywhere, CSRF on every form, cookies and security headers."""
import re

import pytest

from tests.snapshot import stored

from .conftest import text

PUBLIC = {"auth.login", "static", "diagrams.vendor", "api.openapi"}
SAMPLE = {"task_id": "0000", "instance_id": 1, "process_id": "opportunity", "version": 1,
          "decision_id": "qualification", "kind": "bpmn", "key": "opportunity", "token_id": 1, "job_id": 1,
          "notification_id": 1, "attachment_id": 1, "sub_id": 1, "filter_id": 1}


def _routes(app):
    for rule in app.url_map.iter_rules():
        if rule.endpoint in PUBLIC:
            continue
        url = rule.rule
        for name, value in SAMPLE.items():
            url = re.sub(rf"<(?:[^:>]+:)?{name}>", str(value), url)
        assert "<" not in url, f"no sample value for {rule.rule}"
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            yield method, url, rule.endpoint.split(".")[0] if rule.endpoint.startswith(("api.", "engine_rest.")) else None


def test_every_page_and_action_sends_a_signed_out_user_to_sign_in(app, browser):
    token = browser.token("/login")
    seen = 0
    for method, url, api in _routes(app):
        if method == "GET":
            r = browser.get(url)
        else:
            r = browser.client.open(url, method=method, data={"csrf_token": token})
        if api == "api":  # the JSON API takes a token, not a session: it answers 401 instead of redirecting
            assert r.status_code == 401 and "Authorization: Bearer" in r.get_json()["error"], f"{method} {url}"
            continue
        if api == "engine_rest":  # Camunda's REST shape: a token as the Basic password (or Bearer)
            assert r.status_code == 401 and r.headers["WWW-Authenticate"].startswith("Basic"), f"{method} {url}"
            assert r.get_json()["type"] == "AuthenticationException", f"{method} {url}"
            continue
        assert r.status_code == 302, f"{method} {url} answered {r.status_code}"
        assert r.location.startswith("/login?next="), f"{method} {url} went to {r.location}"
        seen += 1
    assert seen >= 12


def test_the_sign_in_page_and_static_files_need_no_sign_in(browser):
    assert browser.get("/login").status_code == 200
    css = browser.get("/static/app.css")
    assert css.status_code == 200 and "text/css" in css.content_type


def test_security_headers_on_pages_and_errors(browser, sign_in):
    for r in (browser.get("/login"), sign_in("sam").get("/deals"), browser.get("/no/such/page")):
        assert r.headers["X-Content-Type-Options"] == "nosniff"
        assert r.headers["X-Frame-Options"] == "DENY"
        csp = r.headers["Content-Security-Policy"]
        assert "script-src 'self'" in csp and "style-src 'self'" in csp
        assert "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp
    assert sign_in("fiona").get("/").headers["Cache-Control"] == "no-store"


def test_pages_have_no_inline_script_or_style(sign_in, driver):
    iid = driver.to_proposal()
    task_id = driver.ready(iid)["Task_PrepareProposal"]["id"]
    b = sign_in("sam")
    for path in ("/", f"/tasks/{task_id}", f"/deals/{iid}", "/deals", "/start", "/start/opportunity"):
        html = b.get(path).get_data(as_text=True)
        assert "<style" not in html and " style=" not in html, path
        for tag in html.split("<script")[1:]:
            assert tag.lstrip().startswith("src="), f"inline script on {path}"
        assert "onclick=" not in html and "onload=" not in html, path


def test_session_cookie_is_http_only_lax_and_lasts_a_working_day(app, sign_in):
    assert app.config["SESSION_COOKIE_HTTPONLY"] is True
    assert app.config["SESSION_COOKIE_SAMESITE"] == "Lax"
    assert app.config["PERMANENT_SESSION_LIFETIME"].total_seconds() == 8 * 3600
    b = sign_in("sam")
    cookie = b.client.get_cookie("session")
    assert cookie is not None and cookie.http_only and cookie.same_site == "Lax"
    assert cookie.expires is not None, "a permanent (8 h) session, not a forever one"


def test_session_cookie_is_secure_outside_tests(sg, catalog):
    from web import create_app
    app = create_app({"STAGEGATE": sg, "SECRET_KEY": "x"})
    assert app.config["SESSION_COOKIE_SECURE"] is True
    app = create_app({"STAGEGATE": sg, "SECRET_KEY": "x", "SESSION_COOKIE_SECURE": False})
    assert app.config["SESSION_COOKIE_SECURE"] is False


def test_a_form_posted_without_its_token_is_refused_and_nothing_is_stored(sg, sign_in, driver):
    iid = driver.to_proposal()
    task_id = driver.ready(iid)["Task_PrepareProposal"]["id"]
    b = sign_in("sam")
    before = stored(sg)
    r = b.post(f"/tasks/{task_id}", {"price": "450000", "margin_pct": "31", "requested_delivery_date": "2027-03-01"},
               token=False)
    assert r.status_code == 400
    page = text(r)
    assert "security token" in page and "nothing was saved" in page
    r = b.post(f"/tasks/{task_id}/claim", token=False)
    assert r.status_code == 400
    r = b.post("/start/opportunity", {"deal_name": "X"}, token=False)
    assert r.status_code == 400
    assert stored(sg) == before


def test_a_forged_token_is_refused_too(sg, sign_in, driver):
    iid = driver.to_proposal()
    task_id = driver.ready(iid)["Task_PrepareProposal"]["id"]
    b = sign_in("sam")
    before = stored(sg)
    r = b.client.post(f"/tasks/{task_id}/claim", data={"csrf_token": "forged"})
    assert r.status_code == 400
    assert stored(sg) == before


def test_unknown_pages_are_404_pages(sign_in):
    r = sign_in("sam").get("/deals/999999")
    assert r.status_code == 404
    assert "Not found" in text(r) and "no deal with id 999999" in text(r)
    assert sign_in("sam").get("/tasks/no-such-task").status_code == 404


@pytest.mark.parametrize("path", ["/static/vendor/bpmn-js/bpmn-navigated-viewer.production.min.js",
                                  "/static/vendor/bpmn-js/assets/bpmn-js.css"])
def test_the_viewer_files_come_from_the_npm_package(app, browser, tmp_path, path):
    dist = tmp_path / "dist"
    (dist / "assets").mkdir(parents=True)
    (dist / "bpmn-navigated-viewer.production.min.js").write_text("/* viewer */")
    (dist / "assets" / "bpmn-js.css").write_text("/* css */")
    app.config["BPMN_JS_DIST"] = str(dist)
    r = browser.get(path)
    assert r.status_code == 200 and r.get_data(as_text=True).startswith("/*")
    assert browser.get("/static/vendor/bpmn-js/../../secret").status_code == 404
    assert browser.get("/static/vendor/bpmn-js/missing.js").status_code == 404


def test_the_viewer_files_are_404_when_the_package_is_not_installed(app, browser, tmp_path):
    app.config["BPMN_JS_DIST"] = str(tmp_path / "not-installed")
    assert browser.get("/static/vendor/bpmn-js/bpmn-navigated-viewer.production.min.js").status_code == 404

"""web/static/js/diagram.js on its own: a minimal page under the same strict CSP as the app,
the prebuilt bpmn-js viewer from node_modules/, the app's stylesheet, the shipped opportunity diagram."""
from __future__ import annotations

import html
import json
import mimetypes
from pathlib import Path
from urllib.parse import quote

import pytest
from werkzeug.wrappers import Request, Response

from .conftest import ROOT, ServerThread

STATIC = ROOT / "web" / "static"
VENDOR = ROOT / "node_modules" / "bpmn-js" / "dist"
CSP = "default-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'"

PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>diagram</title>
<link rel="stylesheet" href="/static/vendor/bpmn-js/assets/diagram-js.css">
<link rel="stylesheet" href="/static/vendor/bpmn-js/assets/bpmn-js.css">
<link rel="stylesheet" href="/static/app.css">
<script src="/static/vendor/bpmn-js/bpmn-navigated-viewer.production.min.js" defer></script>
<script src="/static/js/diagram.js" defer></script>
</head><body><section>
<div class="diagram-tools"><button type="button" data-diagram="zoom-in">+</button>
<button type="button" data-diagram="zoom-out">-</button><button type="button" data-diagram="fit">Fit</button>
<button type="button" data-diagram="current">Current task</button></div>
<div id="diagram" class="diagram" data-src="{src}" data-current="{current}" data-visited="{visited}" data-flows="{flows}"></div>
</section></body></html>"""


def _file(base: Path, rel: str) -> Response:
    path = (base / rel).resolve()
    if base.resolve() not in path.parents or not path.is_file():
        return Response("not found", status=404)
    return Response(path.read_bytes(), mimetype=mimetypes.guess_type(path.name)[0] or "application/octet-stream")


@Request.application
def stub_app(request: Request) -> Response:
    p = request.path
    if p.startswith("/static/vendor/bpmn-js/"):
        resp = _file(VENDOR, p.removeprefix("/static/vendor/bpmn-js/"))
    elif p.startswith("/static/"):
        resp = _file(STATIC, p.removeprefix("/static/"))
    elif p == "/diagrams/opportunity.bpmn":
        resp = Response((ROOT / "diagrams" / "opportunity.bpmn").read_bytes(), mimetype="application/xml")
    elif p == "/diagrams/broken.bpmn":
        resp = Response("<definitions>not a diagram", mimetype="application/xml")
    elif p == "/page":
        a = request.args
        resp = Response(PAGE.format(**{k: html.escape(a.get(k, ""), quote=True)
                                       for k in ("src", "current", "visited", "flows")}), mimetype="text/html")
    else:
        resp = Response("not found", status=404)
    resp.headers["Content-Security-Policy"] = CSP
    return resp


@pytest.fixture(scope="module")
def stub_server(assets_installed):
    with ServerThread(stub_app) as server:
        yield server.url


def _open(new_page, base, **attrs):
    page = new_page(base)
    query = "&".join(f"{k}={quote(v if isinstance(v, str) else json.dumps(v))}" for k, v in attrs.items())
    page.goto(f"/page?{query}")
    page.wait_for_selector("#diagram[data-rendered=true], #diagram[data-rendered=error]", state="attached")
    return page


def test_markers_badges_and_fit(new_page, stub_server, artifacts):
    page = _open(new_page, stub_server, src="/diagrams/opportunity.bpmn",
                 current=["Task_SignOffPricing", "Task_SignOffQuality", "No_Such_Element"],
                 visited={"StartEvent_Opportunity": 1, "Task_Discovery": 3, "Task_PrepareProposal": 1},
                 flows=["Flow_StartToCheck", "Flow_Qualified"])
    box = page.locator("#diagram")
    assert box.get_attribute("data-rendered") == "true", box.get_attribute("data-error")
    # 2 current (the unknown id is skipped), 3 visited, 2 flows
    assert box.get_attribute("data-marked") == "7"
    assert page.locator("[data-element-id=Task_SignOffPricing].current-task").count() == 1
    assert page.locator("[data-element-id=Task_SignOffQuality].current-task").count() == 1
    assert page.locator("[data-element-id=Task_Discovery].visited").count() == 1
    assert page.locator("[data-element-id=Flow_Qualified].taken").count() == 1
    badges = page.locator(".visit-badge")
    assert badges.count() == 1 and badges.inner_text() == "\u00d73"
    # the app's marker CSS applies: the current task is drawn unlike an unmarked one
    style = "el => [getComputedStyle(el).stroke, getComputedStyle(el).strokeWidth]"
    current = page.eval_on_selector("[data-element-id=Task_SignOffPricing] .djs-visual > :first-child", style)
    plain = page.eval_on_selector("[data-element-id=Task_Negotiate] .djs-visual > :first-child", style)
    assert current != plain and current[1] == "4px", (current, plain)
    # it opens centred on the current tasks at a scale where labels are readable: parallel sign-offs
    # too far apart for that scale, so centred on the first of them, wholly in view
    viewbox = "el => el._stagegateViewer.get('canvas').viewbox()"
    vb = page.eval_on_selector("#diagram", viewbox)
    assert vb["scale"] >= 0.9, vb
    el = page.eval_on_selector("#diagram", "el => { const e = el._stagegateViewer.get('elementRegistry')"
                                           ".get('Task_SignOffPricing'); return {x: e.x, y: e.y, w: e.width, h: e.height}; }")
    assert vb["x"] <= el["x"] and el["x"] + el["w"] <= vb["x"] + vb["width"], (el, vb)
    assert vb["y"] <= el["y"] and el["y"] + el["h"] <= vb["y"] + vb["height"], (el, vb)
    page.screenshot(path=str(artifacts / "diagram-js-current.png"))
    # Fit: the whole diagram is inside the container; + and - zoom by steps
    page.click("[data-diagram=fit]")
    vb = page.eval_on_selector("#diagram", viewbox)
    assert vb["inner"]["width"] <= vb["outer"]["width"] / vb["scale"] + 1
    fitted = vb["scale"]
    page.click("[data-diagram=zoom-in]")
    assert page.eval_on_selector("#diagram", viewbox)["scale"] > fitted * 1.2
    page.click("[data-diagram=zoom-out]")
    page.click("[data-diagram=zoom-out]")
    assert page.eval_on_selector("#diagram", viewbox)["scale"] < fitted
    page.click("[data-diagram=current]")
    assert page.eval_on_selector("#diagram", viewbox)["scale"] >= 0.9
    assert not [e for e in page.errors if "Content Security Policy" in e or "pageerror" in e], page.errors
    page.screenshot(path=str(artifacts / "diagram-js-markers.png"))


def test_unreadable_diagram_says_so(new_page, stub_server):
    page = _open(new_page, stub_server, src="/diagrams/broken.bpmn")
    box = page.locator("#diagram")
    assert box.get_attribute("data-rendered") == "error"
    assert box.inner_text().startswith("diagram could not be loaded: ")


def test_missing_diagram_says_so(new_page, stub_server):
    page = _open(new_page, stub_server, src="/diagrams/nope.bpmn")
    assert "diagram could not be loaded: HTTP 404" in page.locator("#diagram").inner_text()

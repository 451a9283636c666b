"""Every page each persona sees fits a 390 px phone and a 1440 px screen (nothing scrolls sideways, not
even a table in its scroll box; a phone shows tables as cards), and at 1440 px no table wraps a deal's
name over more than two lines; on a phone the nav folds behind a Menu button.

The pages come from the app's url_map: every GET route that draws HTML, its arguments filled from a
demo database (an open deal, a task per role, the opportunity process, ...), so routes added later are
covered as soon as they exist. A persona "sees" a page when it answers 200 with HTML.
Screenshots of some pages at 390 px go to test-artifacts/layout-390-*.png."""
from __future__ import annotations

import io
import re
import shutil

import pytest
from playwright.sync_api import expect

from engine.queries import records as queries
from engine.services.attachments import upload
from engine.services.comments import add_comment
from engine.services.webhooks import create_subscription
from engine.store.models import Instance
from stagegate.compose import bootstrap, open_file_store
from workflows.demo import DEMO_PASSWORD, DEMO_PERSONAS

from .conftest import ServerThread

PERSONAS = [*DEMO_PERSONAS, "carl"]  # and a department head
PHONE, DESKTOP = {"width": 390, "height": 844}, {"width": 1440, "height": 900}
NOT_PAGES = re.compile(r"^/(api|engine-rest|static)/|\.(csv|json|bpmn|dmn)$")
SCREENSHOTS = {"inbox.index": "sam", "start.form": "sam", "deals.index": "sam", "deals.show": "sam",  # who, where
               "tasks.show": "lena", "audit.log": "ada", "admin.users": "alex", "designer.index": "dora",
               "metrics.index": "lena"}
# GET routes with arguments that draw no page of their own: files, JSON, a redirect, a replay job's page
# (only while a job exists). Any other route whose arguments _seed does not fill fails the test below.
NOT_VISITED = {"/attachments/<int:attachment_id>", "/designer/<kind>/<key>/versions/<int:version>",
               "/designer/drafts/<kind>/<key>", "/notifications/<int:notification_id>",
               "/metrics/what-if/<int:job_id>"}
LONG_NAME = "Northern region compressor fleet retrofit, phase two (framework)"  # 64 characters


def _seed(sg, attachments_dir) -> dict[str, list]:
    """Values for the routes' arguments, from the demo; plus what makes pages long (a long deal name,
    a comment, a long file name)."""
    ready = queries.ready_tasks(sg)
    deal = ready[0]["instance_id"]
    one_per_role = {t["role"]: t["id"] for t in ready}
    with sg.uow() as uow:  # a deal name long enough to wrap in any table
        uow.session.get(Instance, deal).title = LONG_NAME
        uow.commit()
    add_comment(sg, deal, "sam", "@fiona the customer asks for a " + "very " * 30 + "long payment term")
    upload(sg, open_file_store(str(attachments_dir)), deal, "sam", "Signed_master_supply_agreement_" * 3 + ".pdf",
           io.BytesIO(b"%PDF-1.4\n%%EOF\n"))
    sub = create_subscription(sg, "alex", "http://127.0.0.1:9/hook", ["gate.decided"], "layout test")
    return {"instance_id": [deal], "task_id": list(one_per_role.values()), "process_id": ["opportunity"],
            "decision_id": ["pricing"], "sub_id": [sub["id"]]}


def pages(app, values: dict[str, list]) -> tuple[list[tuple[str, str]], list[str]]:
    """(endpoint, path) for each HTML-looking GET route, and the rules no value fills (left out)."""
    found, left_out = [], []
    with app.test_request_context():
        from flask import url_for
        for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
            if "GET" not in rule.methods or NOT_PAGES.search(rule.rule):
                continue
            if any(not values.get(a) for a in rule.arguments):
                left_out.append(rule.rule)
                continue
            if not rule.arguments:
                found.append((rule.endpoint, url_for(rule.endpoint)))
                continue
            [varying] = [a for a in rule.arguments if len(values[a]) > 1] or [sorted(rule.arguments)[0]]
            for v in values[varying]:
                args = {a: values[a][0] for a in rule.arguments} | {varying: v}
                found.append((rule.endpoint, url_for(rule.endpoint, **args)))
    return found, left_out


@pytest.fixture(scope="module")
def demo_site(demo_database, tmp_path_factory, assets_installed):
    from web import create_app

    folder = tmp_path_factory.mktemp("layout")
    shutil.copy(demo_database, folder / "demo.db")
    sg = bootstrap(f"sqlite:///{folder / 'demo.db'}")
    values = _seed(sg, folder / "attachments")
    app = create_app({"STAGEGATE": sg, "DATABASE_URL": f"sqlite:///{folder / 'demo.db'}",
                      "SECRET_KEY": "browser-tests-only", "SESSION_COOKIE_SECURE": False,
                      "ATTACHMENTS_DIR": str(folder / "attachments")})
    with ServerThread(app) as server:
        server.pages, server.left_out = pages(app, values)
        yield server
    sg.dispose()


def _sign_in(page, name: str):
    page.goto("/login")
    page.fill("input[name=username]", name)
    page.fill("input[name=password]", DEMO_PASSWORD)
    with page.expect_navigation():
        page.locator("form:has(input[name=password]) button[type=submit]").click()
    assert "/login" not in page.url, f"{name} could not sign in"


OVERFLOW = """() => {
  const width = window.innerWidth;
  const scrolled = [...document.querySelectorAll('.table-wrap')].filter(w => w.scrollWidth > w.clientWidth + 1);
  if (scrolled.length) return {scrollWidth: 'a table in its scroll box',
                               culprits: scrolled.map(w => w.scrollWidth + ' in ' + w.clientWidth)};
  if (document.documentElement.scrollWidth <= width) return null;
  const wide = [...document.querySelectorAll('body *')].filter(e => e.getBoundingClientRect().right > width + 1
      && !e.closest('.table-wrap, .diagram, #diagram, pre'));
  return {scrollWidth: document.documentElement.scrollWidth,
          culprits: wide.slice(-5).map(e => e.tagName.toLowerCase() + (e.className ? '.' + e.className : '')
                                            + ' ' + Math.round(e.getBoundingClientRect().right))};
}"""
DEAL_NAME_LINES = """() => [...document.querySelectorAll('td[data-label="Deal"] > a:first-child')].map(a => {
  const lh = parseFloat(getComputedStyle(a).lineHeight) || 24;
  return {name: a.textContent.trim(), lines: Math.round(a.getBoundingClientRect().height / lh)};
}).filter(d => d.lines > 2)"""


@pytest.mark.parametrize("persona", PERSONAS)
def test_every_page_fits_a_phone_and_deal_names_stay_on_two_lines(persona, demo_site, new_page, artifacts):
    page = new_page(demo_site.url)
    page.set_viewport_size(PHONE)
    _sign_in(page, persona)
    seen, problems = [], []
    for endpoint, path in demo_site.pages:
        answer = page.request.get(path, max_redirects=0)
        if answer.status != 200 or not answer.headers.get("content-type", "").startswith("text/html"):
            continue  # not a page this persona sees (refused, a redirect, a download)
        page.set_viewport_size(PHONE)
        page.goto(path)
        page.wait_for_load_state("networkidle")
        seen.append(path)
        wide = page.evaluate(OVERFLOW)
        if wide:
            problems.append(f"{path} at 390 px: {wide['scrollWidth']} is too wide: {wide['culprits']}")
        if SCREENSHOTS.get(endpoint) == persona:
            page.screenshot(path=str(artifacts / f"layout-390-{endpoint.replace('.', '-')}.png"), full_page=True)
        page.set_viewport_size(DESKTOP)
        wide = page.evaluate(OVERFLOW)
        if wide:
            problems.append(f"{path} at 1440 px: {wide['scrollWidth']} is too wide: {wide['culprits']}")
        for long in page.evaluate(DEAL_NAME_LINES):
            problems.append(f"{path} at 1440 px wraps the deal name {long['name']!r} over {long['lines']} lines")
    assert "/" in seen and "/deals" in seen, f"{persona} saw only {seen}"
    assert not problems, "\n".join(problems)


def test_on_a_phone_the_nav_folds_behind_the_menu_button(demo_site, new_page, artifacts):
    page = new_page(demo_site.url)
    page.set_viewport_size(PHONE)
    _sign_in(page, "alex")  # the administrator has the most links
    nav = page.get_by_role("navigation", name="Main")
    assert nav.is_hidden() and page.locator(".notify-link").is_hidden()
    page.get_by_text("Menu").click()
    assert nav.is_visible() and nav.get_by_role("link", name="Admin").is_visible()
    assert page.evaluate(OVERFLOW) is None
    page.screenshot(path=str(artifacts / "layout-390-menu-open.png"))
    with page.expect_navigation():
        nav.get_by_role("link", name="Deals").click()
    assert nav.is_hidden(), "the menu is closed again on the next page"
    page.set_viewport_size(DESKTOP)  # a wide screen shows the nav, and no button
    expect(nav).to_be_visible()
    expect(page.get_by_text("Menu")).to_be_hidden()


def test_every_page_route_is_visited(demo_site):
    unknown = sorted(set(demo_site.left_out) - NOT_VISITED)
    assert not unknown, f"no value for these routes' arguments: add one to _seed (or to NOT_VISITED): {unknown}"

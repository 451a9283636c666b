"""The inbox in Chromium: a Finance person switches views, searches and saves a filter, then uses
and deletes it; a Finance Head ticks two sign-offs and reassigns them at once; completing a
proposal says the ERP prices it next."""
from __future__ import annotations

from engine.queries import records as queries
from engine.services.instances import complete_task, start_instance
from engine.services.users import add_user
from tests.drive import DISCOVERY, DISCOVERY_GO, GOOD_PROSPECT, PROPOSAL
from workflows import erp_pricing

from .conftest import PASSWORD, signed_in
from .test_journeys import deal_name, fill, inbox_rows, seed, submit


def at_sign_offs(sg, name: str, customer: str, value: int) -> int:
    """A deal of `name` for `customer` waiting for its three sign-offs."""
    iid = start_instance(sg, "opportunity", "sam", {**GOOD_PROSPECT, "deal_name": name, "customer": customer,
                                                    "deal_value": value})["id"]
    for element, user, data in (("Task_Discovery", "sam", DISCOVERY), ("Task_DiscoveryGateReview", "lena", DISCOVERY_GO),
                                ("Task_PrepareProposal", "sam", PROPOSAL)):
        [task] = [t for t in queries.ready_tasks(sg, instance_id=iid) if t["element_id"] == element]
        complete_task(sg, task["id"], user, data)
    erp_pricing.serve_pending(sg)  # the ERP stand-in prices the proposal (make run's worker does)
    return iid


def test_views_search_a_saved_filter_and_a_heads_bulk_reassign(live_app, new_page, artifacts):
    sg = live_app.sg
    add_user(sg, "franka", ["Finance"], "cli:test", password=PASSWORD)
    small, big = deal_name("Kestrel drills"), deal_name("Meridian towers")
    at_sign_offs(sg, small, "Kestrel Mining", 120000)
    at_sign_offs(sg, big, "Meridian Wind", 2400000)

    fiona = signed_in(new_page(live_app.url), "fiona")
    fiona.click("nav.views >> text=Unclaimed for my roles")
    fiona.wait_for_url("**/?view=unclaimed")
    assert fiona.locator("nav.views a[aria-current=page]").inner_text() == "Unclaimed for my roles"
    fiona.fill("#f-q", "meridian wind")
    with fiona.expect_navigation():
        fiona.click("form[role=search] button")
    rows = [r for r in fiona.eval_on_selector_all("table.tasks td[data-label=Deal] a", "as => as.map(a => a.innerText)")]
    assert rows == [big], rows
    fiona.fill("#f-name", "Meridian sign-offs")
    with fiona.expect_navigation():
        fiona.click("form.save-filter button")
    assert "Saved the filter \u201cMeridian sign-offs\u201d" in fiona.inner_text(".flashes")
    fiona.screenshot(path=str(artifacts / "inbox-saved-filter.png"), full_page=True)

    with fiona.expect_navigation():
        fiona.click("nav.views >> text=All open")
    assert "view=" not in fiona.url and "q=meridian" in fiona.url, "a view keeps the search"
    with fiona.expect_navigation():
        fiona.click("form[role=search] >> text=clear")
    assert {small, big} <= {r["deal"] for r in inbox_rows(fiona)}
    with fiona.expect_navigation():
        fiona.click(".saved-filters a:has-text('Meridian sign-offs')")
    assert "view=unclaimed" in fiona.url and "q=meridian" in fiona.url
    assert fiona.eval_on_selector_all("table.tasks td[data-label=Deal] a", "as => as.map(a => a.innerText)") == [big]
    with fiona.expect_navigation():
        fiona.click("a.chip:has-text('deal value')")
    assert "sort=value" in fiona.url

    carl = signed_in(new_page(live_app.url), "carl")  # Finance Head
    carl.click("nav.views >> text=My department")
    carl.wait_for_url("**/?view=department")
    ours = [r["href"].rsplit("/", 1)[1] for r in carl.eval_on_selector_all(
        "table.tasks tbody tr", """rows => rows.map(r => ({deal: r.querySelector('td[data-label=Deal] a').innerText,
                                                          href: r.querySelector('td[data-label=Task] a').getAttribute('href')}))""")
        if r["deal"] in (small, big)]
    assert len(ours) == 2
    for task_id in ours:
        carl.check(f"#pick-{task_id}")
    assert carl.locator("#bulk-to").input_value() == "", "nobody is preselected"
    carl.select_option("#bulk-action", "reassign")
    carl.select_option("#bulk-to", "franka")
    carl.screenshot(path=str(artifacts / "inbox-bulk-reassign.png"), full_page=True)
    with carl.expect_navigation():
        carl.click("form.bulk button")
    said = carl.inner_text(".flashes")
    assert "Reassigned to franka" in said and "(2 tasks)" in said, said
    assert {queries.task(sg, t)["claimed_by"] for t in ours} == {"franka"}
    carl.screenshot(path=str(artifacts / "inbox-bulk-done.png"), full_page=True)
    carl.set_viewport_size({"width": 390, "height": 844})
    carl.goto("/?view=department")
    carl.screenshot(path=str(artifacts / "inbox-department-390.png"), full_page=True)
    assert carl.evaluate("document.querySelector('form.bulk').scrollWidth <= 390"), "the bulk form fits a phone"

    franka = signed_in(new_page(live_app.url), "franka")
    franka.click("nav.views >> text=My tasks")
    franka.wait_for_url("**/?view=mine")
    assert {r["deal"] for r in inbox_rows(franka) if r["task"] == "Sign off pricing and margin"} >= {small, big}
    franka.goto("/?view=mine")
    franka.screenshot(path=str(artifacts / "inbox-my-tasks.png"), full_page=True)

    with fiona.expect_navigation():
        fiona.goto("/")
    with fiona.expect_navigation():
        fiona.click("button[aria-label='Delete the saved filter Meridian sign-offs']")
    assert "Deleted the saved filter" in fiona.inner_text(".flashes")
    assert fiona.locator(".saved-filters").count() == 0
    assert not [e for e in fiona.errors + carl.errors + franka.errors if "favicon" not in e], \
        fiona.errors + carl.errors + franka.errors


def test_completing_the_proposal_says_what_it_waits_for(live_app, new_page, artifacts):
    sg = live_app.sg
    name = deal_name("Orion haulers")
    iid = seed(sg, name, "Task_PrepareProposal")
    [proposal] = queries.ready_tasks(sg, instance_id=iid)
    sam = signed_in(new_page(live_app.url), "sam")
    sam.goto(f"/tasks/{proposal['id']}")
    assert "Process: Opportunity" in " ".join(sam.inner_text(".facts").split())
    fill(sam, PROPOSAL)
    submit(sam)
    said = sam.inner_text(".flashes")
    assert "Waiting for an outside system to do \u201cGet list price from ERP\u201d." in said, said
    sam.screenshot(path=str(artifacts / "inbox-what-next.png"), full_page=True)
    sam.goto("/start")
    assert "A sales opportunity from first contact" in sam.inner_text("main")
    sam.screenshot(path=str(artifacts / "start-descriptions.png"), full_page=True)

"""Staff journeys through the real web app in Chromium, each user in a browser context of
their own: an opportunity from the start form to the proposal gate, the diagram on the task
page, a refused form value, and a stale task page."""
from __future__ import annotations

import itertools
import re

from engine.queries import records as queries
from engine.services.instances import complete_task, start_instance
from tests.drive import DISCOVERY, DISCOVERY_GO, GOOD_PROSPECT, PRICING_OK, PROPOSAL
from workflows import erp_pricing
from tests.conftest import STAFF
from engine.roles import head_of

_serial = itertools.count(1)

# The tasks of the opportunity process, by the role that works them.
TASKS_OF_ROLE = {
    "Sales": {"Discovery", "Prepare proposal", "Negotiate and close"},
    "Sales Leadership": {"Discovery gate review", "Proposal gate review", "Look-back review"},
    "Finance": {"Sign off pricing and margin"},
    "Finance Head": {"CFO margin approval", "Chase overdue pricing sign-off"},
    "Supply": {"Sign off delivery date"},
    "Quality": {"Sign off specifications"},
    "Legal": {"Review contract terms"},
}


def deal_name(what: str) -> str:
    return f"{what} {next(_serial)}"


# --- page helpers -------------------------------------------------------------------------

def inbox_rows(page) -> list[dict]:
    """The inbox table as dicts: deal and task (their links' names, without the number, customer or
    process beside them), role, href."""
    page.goto("/")
    page.wait_for_selector("h1:has-text('Inbox')")
    return page.eval_on_selector_all("table.tasks tbody tr", """rows => rows.map(r => {
        const cell = label => (r.querySelector(`td[data-label="${label}"]`) || {}).innerText || '';
        const named = label => (r.querySelector(`td[data-label="${label}"] a`) || {}).innerText || '';
        const link = r.querySelector('td[data-label="Task"] a');
        return {deal: named('Deal').trim(), task: named('Task').trim(), role: cell('Role').trim(),
                href: link ? link.getAttribute('href') : null};
    })""")


HEAD_MARK = "your department"


def check_inbox(page) -> list[dict]:
    """The user's inbox, asserting every task in it is one of their roles' tasks, or (marked as
    such) a task of a department they head."""
    roles = STAFF[page.user]
    rows = inbox_rows(page)
    allowed_tasks = set().union(*(TASKS_OF_ROLE.get(r, set()) for r in roles))
    held = {r.casefold() for r in roles}
    for row in rows:
        if row["role"].endswith(HEAD_MARK):
            department = row["role"][: -len(HEAD_MARK)].strip()
            assert head_of(department.casefold()) in held, (page.user, row)
            assert row["task"] in TASKS_OF_ROLE.get(department, set()), (page.user, row)
            continue
        assert row["role"].casefold() in held, (page.user, row)
        assert row["task"] in allowed_tasks, (page.user, row)
    return rows


def open_task(page, deal: str, task: str) -> str:
    """From the inbox, open `task` of `deal`; returns the task page's path."""
    rows = [r for r in check_inbox(page) if r["deal"] == deal and r["task"] == task]
    assert len(rows) == 1, f"{page.user}'s inbox has no single '{task}' for {deal}: {inbox_rows(page)}"
    page.click(f"table.tasks a[href='{rows[0]['href']}']")
    page.wait_for_selector(f"h1:has-text('{task}')")
    return rows[0]["href"]


def fill(page, values: dict) -> None:
    """Fill the form fields (input ids are field-<field id>) as a person would."""
    for key, value in values.items():
        box = page.locator(f"#field-{key}")
        kind = box.evaluate("el => el.tagName === 'FIELDSET' ? 'yesno' : el.tagName === 'SELECT' ? 'select' : (el.type || 'text')")
        if kind == "yesno":
            page.check(f"#field-{key}-{'yes' if value else 'no'}")
        elif kind == "select":
            box.select_option(str(value))
        elif kind == "checkbox":
            box.set_checked(bool(value))
        else:
            box.fill(str(value))


def submit(page, button: str = "Complete task"):
    with page.expect_navigation():
        page.get_by_role("button", name=button).click()


def done(page) -> None:
    """After a completion: back on the inbox with the success message."""
    assert page.url.endswith("/"), page.url
    flash = page.locator(".flash-success")
    assert flash.count() == 1 and flash.inner_text().startswith("Done:"), page.inner_text("main")[:800]


# --- seeding through the services (for tests about one page, not the journey) -------------

def seed(sg, name: str, upto: str) -> int:
    """A deal started by sam and worked through the services until `upto` is ready."""
    iid = start_instance(sg, "opportunity", "sam", {**GOOD_PROSPECT, "deal_name": name})["id"]
    steps = [("Task_Discovery", "sam", DISCOVERY), ("Task_DiscoveryGateReview", "lena", DISCOVERY_GO),
             ("Task_PrepareProposal", "sam", PROPOSAL), ("Task_SignOffPricing", "fiona", PRICING_OK)]
    for element_id, user, data in steps:
        ready = {t["element_id"]: t for t in queries.ready_tasks(sg, instance_id=iid)}
        if upto in ready:
            return iid
        complete_task(sg, ready[element_id]["id"], user, data)
        erp_pricing.serve_pending(sg)  # the ERP prices the proposal at once
    raise AssertionError(f"{upto} never became ready")


# --- the journeys -------------------------------------------------------------------------

def test_opportunity_from_start_form_to_proposal_gate(sign_in, live_app, artifacts):
    deal = deal_name("Journey pumps")

    # A salesperson starts the opportunity from the start form and does discovery.
    sally = sign_in("sally")
    check_inbox(sally)
    sally.goto("/start")
    sally.click("a[href='/start/opportunity']")
    fill(sally, {**GOOD_PROSPECT, "deal_name": deal})
    submit(sally, "Start")
    assert re.search(r"/deals/\d+$", sally.url), sally.url
    assert sally.locator("h1").inner_text() == deal
    open_task(sally, deal, "Discovery")
    fill(sally, DISCOVERY)
    submit(sally)
    done(sally)

    # Sales leadership passes the discovery gate.
    lena = sign_in("lena")
    open_task(lena, deal, "Discovery gate review")
    fill(lena, DISCOVERY_GO)
    submit(lena)
    done(lena)

    # Another salesperson prepares the proposal.
    sam = sign_in("sam")
    open_task(sam, deal, "Prepare proposal")
    fill(sam, PROPOSAL)
    submit(sam)
    done(sam)
    assert erp_pricing.serve_pending(live_app.sg)  # the ERP stand-in prices it (make run's worker does)

    # Finance, the plant manager and quality sign off in parallel: all three pages open first.
    fiona, pete, quinn = sign_in("fiona"), sign_in("pete"), sign_in("quinn")
    fiona_rows = check_inbox(fiona)
    assert "Prepare proposal" not in {r["task"] for r in fiona_rows}
    fiona.screenshot(path=str(artifacts / "inbox-fiona.png"), full_page=True)
    open_task(fiona, deal, "Sign off pricing and margin")
    open_task(pete, deal, "Sign off delivery date")
    open_task(quinn, deal, "Sign off specifications")
    fiona.wait_for_selector("#diagram[data-rendered=true]")
    fiona.screenshot(path=str(artifacts / "task-sign-off-pricing.png"), full_page=True)
    for page, values in ((pete, {"delivery_committed": True, "committed_delivery_date": "2027-03-15"}),
                         (fiona, PRICING_OK),
                         (quinn, {"specs_approved": True, "quality_comment": "standard specs"})):
        fill(page, values)
    for page in (pete, fiona, quinn):
        submit(page)
        done(page)
        assert deal not in {r["deal"] for r in check_inbox(page)}

    # Nobody outside Sales Leadership sees the proposal gate; sales leadership decides it.
    for page in (sally, sam, fiona, pete, quinn):
        assert "Proposal gate review" not in {r["task"] for r in check_inbox(page)}
    open_task(lena, deal, "Proposal gate review")
    fill(lena, {"proposal_decision": "go", "proposal_rationale": "strategic account"})
    submit(lena)
    done(lena)

    # The deal moved on to Legal's contract review, which only Legal sees.
    lou = sign_in("lou")
    assert any(r["deal"] == deal and r["task"] == "Review contract terms" for r in check_inbox(lou))
    for page in (sally, lena, fiona):
        assert deal not in {r["deal"] for r in check_inbox(page)}


def test_task_page_marks_the_current_task_on_the_diagram(sign_in, live_app, artifacts):
    deal = deal_name("Diagram valves")
    seed(live_app.sg, deal, "Task_SignOffPricing")
    fiona = sign_in("fiona")
    open_task(fiona, deal, "Sign off pricing and margin")
    box = fiona.locator("#diagram")
    fiona.wait_for_selector("#diagram[data-rendered=true], #diagram[data-rendered=error]", state="attached")
    assert box.get_attribute("data-rendered") == "true", box.inner_text()
    svg = box.locator("svg").first
    assert svg.locator("[data-element-id=Task_SignOffPricing].current-task").count() == 1
    # the three parallel sign-offs are all current; what came before is visited
    assert svg.locator(".current-task").count() == 3
    assert svg.locator("[data-element-id=Task_PrepareProposal].visited").count() == 1
    assert svg.locator("[data-element-id=Flow_Qualified].taken").count() == 1
    assert int(box.get_attribute("data-marked")) > 10
    assert box.bounding_box()["height"] >= 300, "the diagram container has no height (app.css missing?)"
    # the marker is styled: a thicker, differently coloured border than an unmarked task's
    style = "el => { const s = getComputedStyle(el); return [s.stroke, s.strokeWidth]; }"
    current = fiona.eval_on_selector("[data-element-id=Task_SignOffPricing] .djs-visual > :first-child", style)
    plain = fiona.eval_on_selector("[data-element-id=Task_Negotiate] .djs-visual > :first-child", style)
    assert current[0] != plain[0] and float(current[1].rstrip("px")) > float(plain[1].rstrip("px")), \
        f"the current-task marker is not styled (app.css): {current} vs {plain}"
    assert not [e for e in fiona.errors if "Content Security Policy" in e or e.startswith("pageerror")], fiona.errors
    box.scroll_into_view_if_needed()
    box.screenshot(path=str(artifacts / "task-diagram.png"))


def test_bad_form_value_shows_message_next_to_field_and_keeps_values(sign_in, live_app):
    deal = deal_name("Refused hold")
    seed(live_app.sg, deal, "Task_DiscoveryGateReview")
    lena = sign_in("lena")
    path = open_task(lena, deal, "Discovery gate review")
    fill(lena, {"discovery_decision": "hold", "discovery_note": "budget frozen until Q3"})  # no hold_days
    submit(lena)
    assert lena.url.endswith(path), "a refused form must stay on the task page"
    field = lena.locator(".field.has-error")
    assert field.count() == 1
    assert field.locator("#field-hold_days").count() == 1, "the message is not next to the hold_days input"
    message = field.locator(".field-error").inner_text()
    assert "required" in message, message
    assert lena.locator("#field-hold_days").get_attribute("aria-invalid") == "true"
    assert lena.locator("#field-discovery_decision").input_value() == "hold"
    assert lena.locator("#field-discovery_note").input_value() == "budget frozen until Q3"
    assert "nothing was saved" in lena.locator(".alert-error").inner_text()
    # correcting it goes through
    fill(lena, {"hold_days": 14})
    submit(lena)
    done(lena)


def test_stale_task_page_says_who_completed_it(sign_in, live_app):
    deal = deal_name("Stale compressors")
    seed(live_app.sg, deal, "Task_Discovery")
    sam, sally = sign_in("sam"), sign_in("sally")
    open_task(sam, deal, "Discovery")
    open_task(sally, deal, "Discovery")
    fill(sally, DISCOVERY)
    fill(sam, {"pain_points": "Compressor failures", "decision_maker": "COO"})
    submit(sally)
    done(sally)
    submit(sam)
    text = sam.locator("main").inner_text()
    assert "already completed by sally" in text, text
    back = sam.get_by_role("link", name=re.compile("inbox", re.I)).last
    assert back.get_attribute("href") == "/"
    back.click()
    sam.wait_for_selector("h1:has-text('Inbox')")
    assert deal not in {r["deal"] for r in check_inbox(sam) if r["task"] == "Discovery"}

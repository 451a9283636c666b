"""Journeys on the deal and task pages in Chromium: the gatekeeper's decision summary, a comment
that @mentions a colleague, an attachment uploaded and downloaded, a field that appears only when it
applies, money typed with thousands separators, and the diagram's zoom, fit, legend and path list."""
from __future__ import annotations

import itertools

from engine.queries import records as queries
from engine.services.instances import complete_task, start_instance
from tests.drive import DELIVERY_OK, DISCOVERY, DISCOVERY_GO, GOOD_PROSPECT, PRICING_OK, PROPOSAL, QUALITY_OK
from workflows import erp_pricing

_serial = itertools.count(1)
PDF = b"%PDF-1.4\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n"


def seed(sg, upto: str) -> tuple[int, str]:
    """A deal worked through the services until `upto` is ready: (deal id, its task id)."""
    name = f"Deal journey {next(_serial)}"
    iid = start_instance(sg, "opportunity", "sam", {**GOOD_PROSPECT, "deal_name": name})["id"]
    steps = [("Task_Discovery", "sam", DISCOVERY), ("Task_DiscoveryGateReview", "lena", DISCOVERY_GO),
             ("Task_PrepareProposal", "sam", PROPOSAL), ("Task_SignOffPricing", "fiona", PRICING_OK),
             ("Task_SignOffDelivery", "pete", DELIVERY_OK), ("Task_SignOffQuality", "quinn", QUALITY_OK)]
    for element_id, user, data in steps:
        ready = {t["element_id"]: t for t in queries.ready_tasks(sg, instance_id=iid)}
        if upto in ready:
            return iid, ready[upto]["id"]
        complete_task(sg, ready[element_id]["id"], user, data)
        erp_pricing.serve_pending(sg)  # the ERP prices the proposal at once
    ready = {t["element_id"]: t for t in queries.ready_tasks(sg, instance_id=iid)}
    return iid, ready[upto]["id"]


def opened(sign_in, user: str, path: str):
    """A page signed in as `user`, on `path`."""
    page = sign_in(user)
    page.goto(path)
    return page


def press(page, button: str) -> None:
    with page.expect_navigation():
        page.get_by_role("button", name=button).click()


def no_page_errors(page):
    assert not [e for e in page.errors if "pageerror" in e or "Content Security Policy" in e], page.errors


def test_the_gatekeeper_sees_the_decision_summary_and_the_diagram_opens_on_the_task(sign_in, live_app, artifacts):
    iid, task_id = seed(live_app.sg, "Task_ProposalGateReview")
    lena = opened(sign_in, "lena", f"/tasks/{task_id}")
    summary = lena.locator(".decision-summary")
    assert "Criteria: Go only when Finance has approved price and margin" in summary.inner_text()
    rows = summary.locator("table.sign-offs tbody tr")
    assert rows.count() == 3
    finance = rows.filter(has_text="Finance").inner_text()
    assert "approved" in finance and "Quoted price ($): 450,000" in finance and "fiona" in finance
    summary.screenshot(path=str(artifacts / "deal-decision-summary.png"))
    # the diagram: centred on this task, readable; zoom, fit, and the path as a list
    box = lena.locator("#diagram[data-rendered=true]")
    box.wait_for()
    first_scale = float(box.get_attribute("data-scale"))
    assert first_scale >= 0.9
    lena.click("[data-diagram=fit]")
    fitted = float(box.get_attribute("data-scale"))
    assert fitted < first_scale
    lena.click("[data-diagram=zoom-in]")
    assert float(box.get_attribute("data-scale")) > fitted
    lena.click("[data-diagram=current]")
    assert float(box.get_attribute("data-scale")) >= 0.9
    lena.locator(".diagram-path summary").click()
    path = lena.locator(".diagram-path li").all_inner_texts()
    assert path[0].startswith("Opportunity identified"), path
    assert any("Proposal gate review" in p and "now" in p for p in path), path
    assert any("Sign off pricing and margin" in p for p in path), path
    assert lena.locator(".diagram-legend").inner_text().count("\n") >= 4
    lena.locator("#diagram").scroll_into_view_if_needed()
    lena.locator("section:has(#diagram)").screenshot(path=str(artifacts / "deal-diagram-tools.png"))
    no_page_errors(lena)


def marker_style(page, selector: str, prop: str) -> str:
    """A computed style of the first element matching `selector` (the diagram's marker or the legend's swatch)."""
    return page.locator(selector).first.evaluate(f"e => getComputedStyle(e).{prop}")


def test_the_deal_page_diagram_has_a_legend_like_its_markers_and_the_path_as_a_list(sign_in, live_app, artifacts):
    iid, _task = seed(live_app.sg, "Task_SignOffPricing")
    sam = opened(sign_in, "sam", f"/deals/{iid}")
    sam.locator("#diagram[data-rendered=true]").wait_for()
    legend = sam.locator(".diagram-legend li").all_inner_texts()
    assert [" ".join(item.split()) for item in legend] == [
        "being worked now", "done", "path taken", "withdrawn before anyone worked it", "×2 entered more than once"]
    # each swatch looks like the marker it explains
    current = ".djs-element.current-task .djs-visual > :first-child"
    assert marker_style(sam, current, "stroke") == marker_style(sam, ".swatch-current", "borderTopColor")
    done = ".djs-element.visited .djs-visual > :first-child"
    assert marker_style(sam, done, "fill") == marker_style(sam, ".swatch-visited", "backgroundColor")
    taken = ".djs-connection.taken .djs-visual > path"
    assert marker_style(sam, taken, "stroke") == marker_style(sam, ".swatch-taken", "borderTopColor")
    assert marker_style(sam, ".diagram-legend .visit-badge", "backgroundColor") == marker_style(
        sam, ".swatch-current", "borderTopColor")  # the ×N badge is drawn in the brand colour on the diagram
    # the path in order, with the element names, for whoever cannot see the diagram (it is aria-hidden)
    assert sam.locator("#diagram").get_attribute("aria-hidden") == "true"
    sam.get_by_text("The path as a list").click()
    steps = sam.get_by_role("list").filter(has_text="Opportunity identified").get_by_role("listitem").all_inner_texts()
    names = [s.split(" (")[0].split(" — ")[0] for s in steps]
    assert names.index("Opportunity identified") < names.index("Discovery gate review") < names.index(
        "Prepare proposal") < names.index("Sign off pricing and margin"), steps
    now = sam.locator(".diagram-path li[aria-current=step]").all_inner_texts()
    assert any("Sign off pricing and margin" in s and "now" in s for s in now), now
    sam.locator("section:has(#diagram)").screenshot(path=str(artifacts / "deal-diagram-legend-path.png"))
    no_page_errors(sam)


def test_a_comment_mentions_a_colleague_who_sees_it_in_notifications(sign_in, live_app, artifacts):
    iid, _ = seed(live_app.sg, "Task_SignOffDelivery")
    sam = opened(sign_in, "sam", f"/deals/{iid}")
    sam.fill("#comment-body", "@pete can the plant ship by March? Pricing is fine per @fiona.")
    press(sam, "Post comment")
    assert "notified pete, fiona" in sam.locator(".flash").inner_text()
    assert sam.locator("ol.comments .mention").count() == 2
    sam.locator("#comments").screenshot(path=str(artifacts / "deal-comment-mention.png"))
    assert "commented: “@pete can the plant ship" in sam.locator("ol.history").inner_text()

    pete = sign_in("pete")
    assert pete.locator(".count-badge").inner_text() == "1"
    pete.click(".notify-link")
    pete.screenshot(path=str(artifacts / "deal-notifications.png"))
    with pete.expect_navigation():
        pete.click("li.notification a")
    assert f"/deals/{iid}" in pete.url
    assert pete.locator(".count-badge").count() == 0
    no_page_errors(pete)


def test_an_attachment_is_uploaded_and_downloaded(sign_in, live_app, artifacts, tmp_path):
    iid, _ = seed(live_app.sg, "Task_SignOffDelivery")
    sam = opened(sign_in, "sam", f"/deals/{iid}")
    proposal = tmp_path / "Signed contract.pdf"
    proposal.write_bytes(PDF)
    sam.set_input_files("#attachment-file", str(proposal))
    press(sam, "Upload")
    assert "Attached Signed contract.pdf" in sam.locator(".flash").inner_text()
    sam.locator("#attachments").screenshot(path=str(artifacts / "deal-attachment.png"))
    with sam.expect_download() as got:
        sam.click("ul.attachments a")
    download = got.value
    assert download.suggested_filename == "Signed contract.pdf"
    assert open(download.path(), "rb").read() == PDF
    # a file that is not what its name says is refused, with the reason
    fake = tmp_path / "invoice.pdf"
    fake.write_bytes(b"<html><script>alert(1)</script>")
    sam.set_input_files("#attachment-file", str(fake))
    press(sam, "Upload")
    assert "does not look like a .pdf file" in sam.locator(".flash").inner_text()
    assert sam.locator("ul.attachments li").count() == 1


def test_a_conditional_field_appears_only_when_it_applies(sign_in, live_app, artifacts):
    _, task_id = seed(live_app.sg, "Task_DiscoveryGateReview")
    lena = opened(sign_in, "lena", f"/tasks/{task_id}")
    hold = lena.locator(".field:has(#field-hold_days)")
    assert hold.is_hidden(), "Hold for (days) only applies to a hold"
    lena.locator("#field-discovery_decision").select_option("hold")
    assert hold.is_visible()
    assert hold.locator(".hint").inner_text() == "Needed because Decision is Hold; From 1 to 180"
    lena.screenshot(path=str(artifacts / "form-conditional-field.png"))
    lena.locator("#field-discovery_decision").select_option("go")
    assert hold.is_hidden() and lena.locator("#field-hold_days").is_disabled()
    no_page_errors(lena)


def test_money_is_typed_with_thousands_separators_and_dates_in_one_format(sign_in, live_app, artifacts):
    iid, task_id = seed(live_app.sg, "Task_PrepareProposal")
    sam = opened(sign_in, "sam", f"/tasks/{task_id}")
    sam.fill("#field-price", "1200000")
    sam.locator("#field-margin_pct").focus()
    assert sam.locator("#field-price").input_value() == "1,200,000"
    assert sam.locator("#field-requested_delivery_date").get_attribute("placeholder") == "YYYY-MM-DD"
    sam.fill("#field-margin_pct", "31")
    sam.fill("#field-requested_delivery_date", "2027-04-01")
    sam.fill("#field-proposal_summary", "Pumps and install")
    sam.screenshot(path=str(artifacts / "form-money-date.png"))
    press(sam, "Complete task")
    assert queries.instance(live_app.sg, iid)["data"]["price"] == 1200000
    sam.goto(f"/tasks/{task_id}")
    submitted = sam.locator(".task-form").inner_text()
    assert "What was submitted" in submitted and "1,200,000" in submitted and "2027-04-01" in submitted
    sam.locator(".task-form").screenshot(path=str(artifacts / "task-submitted-values.png"))

"""The process designer in Chromium: dora changes the opportunity process in the modeler and
its properties panel, sees a broken condition marked on its flow, fixes it, deploys version 2
while a running deal stays on version 1, and reads the diff; then edits a decision rule."""
from __future__ import annotations

import pytest

from engine.queries import records as queries
from engine.services.instances import start_instance
from tests.drive import GOOD_PROSPECT

from .conftest import ROOT, serve_catalog

EDITOR_BUNDLE = ROOT / "web" / "static" / "build" / "bpmn-editor.js"
# bpmn-js-properties-panel builds its container, and dmn-js its bpmn.io logo, from HTML with
# style attributes; the CSP blocks them and designer.css gives the same styles. dmn-js's FEEL
# editor (CodeMirror) adds its base theme as a <style> element, also blocked: its popups are
# plainer. Nothing else (no script, no style sheet of ours) may be blocked.
LIBRARY_STYLES = ("CSP style-src-attr bpmn-editor.js", "CSP style-src-attr dmn-editor.js",
                  "CSP style-src-elem dmn-editor.js")


@pytest.fixture(scope="module")
def live_app(tmp_path_factory, assets_installed):
    """A server of its own: these tests deploy versions the staff journeys must not run."""
    if not EDITOR_BUNDLE.exists():
        pytest.fail(f"{EDITOR_BUNDLE.relative_to(ROOT)} is missing: run `make assets` (npm run build)", pytrace=False)
    with serve_catalog(tmp_path_factory.mktemp("designer") / "stagegate.db") as server:
        yield server


def _watch_csp(page):
    page.add_init_script("document.addEventListener('securitypolicyviolation', e => console.error("
                         "'CSP ' + e.violatedDirective + ' ' + e.sourceFile.split('/').pop()))")


def _unexpected(page) -> list[str]:
    return [e for e in page.errors if ("CSP" in e and not e.endswith(LIBRARY_STYLES))
            or "pageerror" in e or e.startswith("HTTP 5")]


def _open_editor(page, section: str):
    page.click("nav.mainnav >> text=Designer")
    page.click(f"{section} >> text=Edit newest")
    page.wait_for_selector("#designer[data-state=ready][data-problems]")


def _open_group(page, group: str):
    """Open a group of the properties panel (the panel remembers which are open)."""
    header = page.locator(f"[data-group-id=group-{group}] .bio-properties-panel-group-header")
    if "open" not in (header.get_attribute("class") or "").split():
        header.click()


def _wait_problems(page, count: int):
    page.wait_for_selector(f"#designer[data-problems='{count}']:not([data-validating])")


def test_change_validate_fix_deploy_and_diff_the_opportunity_process(sign_in, live_app, artifacts):
    running = start_instance(live_app.sg, "opportunity", "sam", dict(GOOD_PROSPECT))["id"]
    page = sign_in("dora")
    _watch_csp(page)
    page.reload()
    _open_editor(page, "#process-opportunity")
    assert page.get_attribute("#designer", "data-problems") == "0"

    # A label and a form field, in the properties panel.
    page.click("g[data-element-id=Task_Discovery]")
    _open_group(page, "general")
    page.fill("#bio-properties-panel-name", "Discovery call")
    _open_group(page, "CamundaPlatform__FormData")
    page.locator("[data-group-id=group-CamundaPlatform__FormData] .bio-properties-panel-collapsible-entry-header").first.click()
    page.fill("#bio-properties-panel-Task_Discovery-formField-0-formFieldLabel", "What hurts the customer")
    page.press("#bio-properties-panel-Task_Discovery-formField-0-formFieldLabel", "Tab")
    page.wait_for_function("() => document.getElementById('designer')._modeler.saveXML()"
                           ".then(r => r.xml.includes('label=\"What hurts the customer\"'))")

    # A condition that does not compile: marked on its flow and listed.
    page.click("g[data-element-id=Flow_DiscoveryKill_label]")
    _open_group(page, "CamundaPlatform__Condition")
    page.fill("#bio-properties-panel-conditionExpression", "discovery_decision == ")
    _wait_problems(page, 1)
    assert page.locator("g[data-element-id=Flow_DiscoveryKill].problem-error").count() > 0
    item = page.locator(".designer-problems li.problem-error")
    assert "Flow_DiscoveryKill" in item.inner_text() and "does not compile" in item.inner_text()
    page.screenshot(path=str(artifacts / "designer-broken-condition.png"), full_page=True)
    page.click("g[data-element-id=Task_Discovery]")
    item.click()  # the list selects the element it names
    assert page.locator(".djs-element.selected[data-element-id=Flow_DiscoveryKill]").count() == 1

    # Deploy is refused while it is broken, and nothing is stored.
    page.fill("#deploy-comment", "Discovery is a call")
    page.click("[data-action=deploy]")
    page.wait_for_selector(".designer-status.is-error")
    assert queries.process_versions(live_app.sg, "opportunity")[0]["version"] == 1

    page.fill("#bio-properties-panel-conditionExpression", "discovery_decision == 'kill'")
    _wait_problems(page, 0)
    assert page.locator(".problem-error").count() == 0

    page.click("[data-action=save]")
    page.wait_for_selector("#designer[data-saved]")
    page.click("[data-action=deploy]")
    page.wait_for_selector("#designer[data-deployed]")
    assert page.get_attribute("#designer", "data-deployed") == "opportunity v2"
    page.screenshot(path=str(artifacts / "designer-deployed.png"))

    # The running deal stays on version 1; the list says so.
    assert queries.instance(live_app.sg, running)["version"] == 1
    page.click("nav.mainnav >> text=Designer")
    rows = page.locator("#process-opportunity tbody tr")
    assert rows.nth(0).get_attribute("data-version") == "2" and "Discovery is a call" in rows.nth(0).inner_text()
    assert rows.nth(1).locator("td.running").inner_text() == "1"
    assert page.locator("[data-draft]").count() == 0  # the deploy took the draft with it

    # The diff marks the changed task on both diagrams and lists what changed.
    rows.nth(0).locator("text=Changes from v1").click()
    page.wait_for_selector(".diff-diagram[data-rendered=true] >> nth=1")
    for nth in (0, 1):
        diagram = page.locator(".diff-diagram").nth(nth)
        assert diagram.locator("g[data-element-id=Task_Discovery].diff-changed").count() == 1
    changes = page.locator(".diff-changes li")
    assert changes.count() == 1
    assert "Discovery call" in changes.first.inner_text() and "name, form" in changes.first.inner_text()
    page.screenshot(path=str(artifacts / "designer-diff.png"), full_page=True)
    assert not _unexpected(page), page.errors


def _type_into(page, nth: int, text: str):
    cell = page.locator("td.input-cell .content-editable").nth(nth)
    cell.click()
    page.keyboard.press("Control+A")
    page.keyboard.type(text)


def test_edit_a_decision_rule_see_its_cell_marked_and_confirm_its_what_if_before_deploying(sign_in, live_app,
                                                                                          artifacts):
    start_instance(live_app.sg, "opportunity", "sam", {**GOOD_PROSPECT, "annual_revenue_musd": 45})  # killed at $50MM
    page = sign_in("dora")
    _watch_csp(page)
    page.reload()
    _open_editor(page, "#decision-qualification")
    cell = page.locator("td.input-cell .content-editable").first
    assert cell.inner_text().strip() == "< 50"
    cell.click()
    page.keyboard.press("Control+A")
    page.keyboard.type("<< 40")  # a typo: that cell, and only that one, is marked
    page.locator("td.input-cell .content-editable").nth(3).click()  # leave the cell
    _wait_problems(page, 1)
    assert "`<< 40` is not a comparison of the column" in page.inner_text(".designer-problems")
    assert "Rule_RevenueTooLow (row 1), column 'Annual revenue ($MM)'" in page.inner_text(".designer-problems")
    marked = page.locator("td.dmn-problem")
    assert marked.count() == 1
    assert marked.get_attribute("data-row-id") == "Rule_RevenueTooLow"
    assert marked.get_attribute("data-col-id") == "Input_AnnualRevenue"
    assert "is not a comparison" in marked.get_attribute("title")
    page.screenshot(path=str(artifacts / "designer-dmn-problem.png"), full_page=True)
    for nth, text in ((0, "< 40"), (3, ">= 40"), (6, ">= 40"), (9, ">= 40")):  # the floor in every rule
        _type_into(page, nth, text)
    page.locator("td.input-cell .content-editable").nth(1).click()
    _wait_problems(page, 0)
    assert page.locator("td.dmn-problem").count() == 0
    # Before deploying: what would the edited table have done to past deals? (a new tab)
    with page.expect_popup() as opened:
        page.click("[data-action=whatif]")
    replay = opened.value
    replay.wait_for_load_state()
    assert "What-if replay" in replay.inner_text("h1")
    # The replay runs in the background; its page polls and shows the result once it is done.
    replay.wait_for_selector(".whatif-decision h2", timeout=60_000)
    assert "qualification" in replay.inner_text(".whatif-decision h2") and "Passes replayed" in replay.inner_text("main")
    replay.close()
    page.fill("#deploy-comment", "$40MM is enough")
    # Deploying shows the replay's result first; cancelling deploys nothing.
    page.click("[data-action=deploy]")
    page.wait_for_selector("#designer[data-confirming] .designer-confirm:not([hidden])")
    summary = page.inner_text(".designer-confirm .confirm-summary")
    assert summary.startswith("This changes 1 past kill decision to go (of ") and summary.endswith(" replayed).")
    page.screenshot(path=str(artifacts / "designer-dmn-confirm.png"), full_page=True)
    page.click(".designer-confirm [data-confirm=no]")
    assert page.locator(".designer-confirm").is_hidden()
    assert "Not deployed." in page.inner_text(".designer-status")
    assert page.get_attribute("#designer", "data-deployed") is None
    assert page.request.get("/designer/dmn/qualification/versions/2").status == 404
    page.click("[data-action=deploy]")
    page.wait_for_selector("#designer[data-confirming]")
    page.click(".designer-confirm [data-confirm=yes]")
    page.wait_for_selector("#designer[data-deployed]")
    deployed = page.get_attribute("#designer", "data-deployed")
    assert "qualification v2" in deployed and "opportunity v" in deployed  # the process that uses it too
    page.screenshot(path=str(artifacts / "designer-dmn-deployed.png"))
    page.click("nav.mainnav >> text=Designer")
    row = page.locator("#decision-qualification tbody tr").first
    assert row.get_attribute("data-version") == "2" and "$40MM is enough" in row.inner_text()
    assert "&lt; 40" in page.request.get("/designer/dmn/qualification/versions/2").text()
    assert not _unexpected(page), page.errors


def test_a_camunda_feel_table_opens_and_a_broken_feel_cell_is_marked(sign_in, live_app, artifacts):
    """Camunda's invoice decisions (FEEL, a decision graph), deployed unchanged, open in the editor
    with no problem; a FEEL cell that is no unary test is marked on its cell, with what is wrong."""
    from engine.services.deployment import deploy
    from tests.conftest import SHARED

    invoice = SHARED / "corpus" / "camunda" / "platform-invoiceBusinessDecisions.dmn"
    deploy(live_app.sg, [(invoice.name, invoice.read_bytes())], actor="cli:test")
    page = sign_in("dora")
    _watch_csp(page)
    page.reload()
    _open_editor(page, "#decision-invoiceClassification")
    _wait_problems(page, 0)
    cell = page.locator("td.input-cell .content-editable").nth(2)
    assert cell.inner_text().strip() == "[250..1000]"
    cell.click()
    page.keyboard.press("Control+A")
    page.keyboard.type("<< 250")  # the editor closes brackets itself: a doubled operator stays broken
    page.locator("td.input-cell .content-editable").nth(0).click()  # leave the cell
    _wait_problems(page, 1)
    problems = page.inner_text(".designer-problems")
    assert "`<< 250` is not FEEL the engine reads" in problems, problems
    marked = page.locator("td.dmn-problem")
    assert marked.count() == 1 and marked.get_attribute("data-row-id") == "DecisionRule_1ak4z14"
    page.screenshot(path=str(artifacts / "designer-feel-problem.png"), full_page=True)
    assert not _unexpected(page), page.errors

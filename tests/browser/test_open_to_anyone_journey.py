"""A task that names nobody (a Camunda model's user task in no lane): a staff member finds it in the
inbox's "Open to anyone" part, claims it there and completes it; an auditor's inbox has no such part."""
from __future__ import annotations

from engine.queries import records as queries
from engine.services.deployment import deploy
from engine.services.instances import start_instance
from tests import diagram_factory as f
from tests.browser.conftest import serve_catalog, signed_in
from tests.browser.test_journeys import done, fill, submit
from tests.test_open_to_anyone import order


def test_a_staff_member_claims_and_completes_a_task_open_to_anyone(new_page, tmp_path, artifacts):
    with serve_catalog(tmp_path / "anyone.db") as app:
        deploy(app.sg, f.files(("order.bpmn", order())), "cli:test")
        iid = start_instance(app.sg, "order", "sam", {})["id"]
        quinn = signed_in(new_page(app.url), "quinn")  # Quality: no lane of this process is hers
        part = quinn.locator("section.open-to-anyone")
        assert part.locator("h2").inner_text() == "Open to anyone"
        assert part.locator("td[data-label=Task]").all_inner_texts() == ["Check the order"]
        with quinn.expect_navigation():
            part.get_by_role("button", name="Claim").click()
        assert part.locator("td[data-label='Claimed by']").inner_text() == "quinn"
        quinn.screenshot(path=str(artifacts / "inbox-open-to-anyone.png"), full_page=True)
        part.get_by_role("link", name="Check the order").click()
        assert "anyone (any staff member may work it)" in quinn.inner_text("main")
        fill(quinn, {"ok": True})
        submit(quinn)
        done(quinn)
        assert quinn.locator("section.open-to-anyone").count() == 0
        assert queries.instance(app.sg, iid)["status"] == "completed"

        ada = signed_in(new_page(app.url), "ada")  # an auditor: no staff member
        assert ada.locator("section.open-to-anyone").count() == 0
        assert not quinn.errors and not ada.errors, quinn.errors + ada.errors

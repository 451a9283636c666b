"""A task with camunda:followUpDate: its inbox row says when to follow up, and marks it once that
time has come (not yet due); its page says it too."""
from __future__ import annotations

from datetime import timedelta

from engine.clock import FrozenClock, iso
from engine.services.deployment import deploy
from engine.services.instances import start_instance
from tests.browser.conftest import serve_catalog, signed_in
from tests.web.test_follow_up import callback


def test_a_task_to_follow_up_is_marked_in_the_inbox_and_shown_on_its_page(new_page, tmp_path, artifacts):
    clock = FrozenClock()
    with serve_catalog(tmp_path / "follow-up.db", clock=clock) as app:
        deploy(app.sg, [("asked.bpmn", callback("asked", "${next_look}"))], "cli:test")
        start_instance(app.sg, "asked", "sam", {"next_look": iso(clock.now() + timedelta(hours=1))})
        quinn = signed_in(new_page(app.url), "quinn")
        due = quinn.locator("td[data-label=Due]")
        assert "follow up " in due.inner_text() and due.locator(".badge").count() == 0
        clock.advance(hours=2)
        quinn.reload()
        assert due.locator(".badge.follow-up").inner_text() == "follow up"
        quinn.screenshot(path=str(artifacts / "inbox-follow-up.png"), full_page=True)
        quinn.get_by_role("link", name="Call the customer back").click()
        assert "Follow up " in quinn.inner_text("header.page-head")
        quinn.screenshot(path=str(artifacts / "task-follow-up.png"))
        assert not quinn.errors, quinn.errors

"""A decimal form field in Chromium: typed with thousands commas, it is sent as typed and decided as a number."""
from __future__ import annotations

from engine.queries import records as queries
from engine.services.deployment import deploy
from tests import diagram_factory as f
from tests.test_decimal_fields import quote_review

from .conftest import PASSWORD, serve_catalog


def test_a_decimal_typed_as_1_200_50_starts_the_deal_and_routes_it_to_finance(new_page, tmp_path, artifacts,
                                                                             assets_installed):
    with serve_catalog(tmp_path / "stagegate.db") as server:
        deploy(server.sg, f.files(("quote_review.bpmn", quote_review())), "cli:test")
        page = new_page(server.url)
        page.goto("/login")
        page.fill("input[name=username]", "sam")
        page.fill("input[name=password]", PASSWORD)
        with page.expect_navigation():
            page.get_by_role("button", name="Sign in").click()
        page.goto("/start/quote_review")
        amount = page.locator("#field-amount")
        assert amount.get_attribute("inputmode") == "decimal"
        page.fill("#field-quote_name", "Pumps")
        amount.fill("1,200.50")
        assert amount.input_value() == "1,200.50", "the browser kept what was typed"
        page.screenshot(path=str(artifacts / "decimal-start-form.png"))
        with page.expect_navigation():
            page.get_by_role("button", name="Start").click()
        assert "/deals/" in page.url, page.inner_text("main")[:800]
        [task] = queries.ready_tasks(server.sg, user="fiona")
        assert task["element_id"] == "Task_Margin"
        assert queries.instance(server.sg, task["instance_id"])["data"]["amount"] == 1200.5
        assert not [e for e in page.errors if e.startswith("pageerror")], page.errors

"""The metrics page in Chromium on the demo data: its three charts drawn, styled by app.css under
the CSP, every bar a link to its deals; a screenshot goes to test-artifacts/metrics.png."""
from __future__ import annotations

import shutil

import pytest

from stagegate.compose import bootstrap
from workflows.demo import DEMO_PASSWORD

from .conftest import ServerThread


@pytest.fixture(scope="module")
def demo_server(demo_database, tmp_path_factory, assets_installed):
    from web import create_app

    db = tmp_path_factory.mktemp("metrics") / "demo.db"
    shutil.copy(demo_database, db)
    sg = bootstrap(f"sqlite:///{db}")
    app = create_app({"STAGEGATE": sg, "DATABASE_URL": f"sqlite:///{db}", "SECRET_KEY": "browser-tests-only",
                      "SESSION_COOKIE_SECURE": False})
    with ServerThread(app) as server:
        yield server
    sg.dispose()


def test_the_metrics_page_draws_its_charts_from_the_demo(demo_server, new_page, artifacts):
    page = new_page(demo_server.url)
    page.goto("/login")
    page.fill("input[name=username]", "lena")
    page.fill("input[name=password]", DEMO_PASSWORD)
    with page.expect_navigation():
        page.locator("form button[type=submit]").last.click()
    page.get_by_role("link", name="Metrics").click()
    page.wait_for_selector("h1:has-text('Metrics')")

    # Funnel: one entered bar and one go bar per gate of the opportunity process, wider ones for more passes.
    assert page.locator("svg.chart-funnel rect.bar-entered").count() == 3
    widths = page.eval_on_selector_all("svg.chart-funnel rect.bar-entered", "els => els.map(e => e.getBBox().width)")
    assert widths[0] == max(widths) > 0  # every demo deal passes the qualification gate
    # Time in stage: a median and a p90 bar per stage; the trend: won/lost/killed bars per month.
    assert page.locator("svg.chart-stages rect.bar-median").count() == 5
    assert page.locator("svg.chart-trend rect.bar-won").count() >= 3
    # Colours come from app.css (inline styles would be blocked by the CSP).
    go_fill = page.eval_on_selector("svg.chart-funnel rect.bar-go", "e => getComputedStyle(e).fill")
    killed_fill = page.eval_on_selector("svg.chart-trend rect.bar-killed", "e => getComputedStyle(e).fill")
    assert go_fill == "rgb(28, 124, 58)" and killed_fill == "rgb(179, 38, 30)"
    assert page.locator("text=Stalled deals").count() == 1
    page.screenshot(path=str(artifacts / "metrics.png"), full_page=True)
    assert page.errors == []

    # A bar is a link to the deals behind it.
    page.locator("svg.chart-funnel a").nth(1).click()  # qualification: go
    page.wait_for_selector("h1:has-text('behind')")
    assert "funnel/qualification/go" in page.inner_text("h1")
    assert page.locator("table.deals tbody tr").count() > 10


def test_a_what_if_replay_page_follows_the_job_to_its_result_or_its_limit(demo_server, new_page, artifacts,
                                                                           monkeypatch):
    from engine import sandbox
    from tests.conftest import DIAGRAMS

    monkeypatch.setattr(sandbox, "JOB_LIMITS", sandbox.JOB_LIMITS.with_(cpu_seconds=1, wall_seconds=4))
    deployed = (DIAGRAMS / "qualification.dmn").read_text()
    page = new_page(demo_server.url)
    page.goto("/login")
    page.fill("input[name=username]", "ada")  # an auditor: a replay changes nothing
    page.fill("input[name=password]", DEMO_PASSWORD)
    with page.expect_navigation():
        page.locator("form button[type=submit]").last.click()

    for xml, shows in ((deployed.replace("&lt; 50<", "&lt; 300<").replace("&gt;= 50<", "&gt;= 300<"), "result"),
                       (deployed.replace("&lt; 50<", "? == len(set(range(0, (2**61-1)*10**6, 2**61-1)))<"), "limit")):
        page.goto("/metrics")
        page.fill("#f-dmn-xml", xml)
        with page.expect_navigation():
            page.click("text=Replay past deals")
        assert "/metrics/what-if/" in page.url
        if shows == "limit":
            page.wait_for_selector(".whatif-waiting", timeout=5_000)  # the replay is still running
            page.screenshot(path=str(artifacts / "what-if-waiting.png"))
        # The page polls the job's status and reloads itself once the job is over.
        if shows == "result":
            page.wait_for_selector(".whatif-decision h2", timeout=60_000)
            assert "Would change" in page.inner_text("main")
            page.screenshot(path=str(artifacts / "what-if-result.png"), full_page=True)
        else:
            page.wait_for_selector(".whatif-failed", timeout=60_000)
            text = page.inner_text(".whatif-failed")
            assert "The replay did not finish (limit: " in text and "it went over the sandbox's" in text
            page.screenshot(path=str(artifacts / "what-if-limit.png"))
    assert page.errors == []

"""The Administrator's journey in Chromium: subscribe a receiver to gate decisions on the Webhooks
page (the secret shown once), see the worker deliver a deal's gate decision with a valid signature
and read it in the delivery log; a person picks the daily digest on their Mail settings page."""
from __future__ import annotations

from engine.services.relay import deliver_due, relay_events
from engine.services.users import add_user
from tests.drive import DISCOVERY, DISCOVERY_GO, Driver
from tests.receivers import WebhookReceiver

from .conftest import PASSWORD, serve_catalog, signed_in


def test_an_administrator_subscribes_a_receiver_and_reads_its_delivery_log(new_page, tmp_path, artifacts):
    with serve_catalog(tmp_path / "admin.db") as server, WebhookReceiver() as rx:
        add_user(server.sg, "root", ["Administrator"], "cli:test", password=PASSWORD)
        root = signed_in(new_page(server.url), "root")
        root.click("nav >> text=Admin")
        assert "No worker has run yet" in root.inner_text("main")
        root.click("text=Webhooks")
        root.fill("input[name=url]", rx.url)
        root.fill("input[name=description]", "CRM")
        assert root.is_checked("input[value='gate.decided']")
        root.click("button:has-text('Subscribe')")
        rx.secret = root.inner_text("[data-testid=secret]")
        assert rx.secret.startswith("whsec_")
        root.screenshot(path=str(artifacts / "admin-webhook-subscribed.png"), full_page=True)

        drive = Driver(lambda clock=None: server.sg)
        iid = drive.start()["id"]
        drive.work(iid, "Task_Discovery", "sam", **DISCOVERY)
        drive.work(iid, "Task_DiscoveryGateReview", "lena", **DISCOVERY_GO)
        relay_events(server.sg)
        assert deliver_due(server.sg)["delivered"] == 2  # the qualification and discovery gates
        assert [r["verified"] for r in rx.requests] == [True, True]

        root.goto("/admin/webhooks")
        root.click(f"a:has-text('{rx.url}')")
        root.wait_for_selector("[data-testid=state]")  # the log page, not the list the click left (a busy box is slow)
        states = root.locator("[data-testid=state]").all_inner_texts()
        assert states == ["delivered", "delivered"]
        assert root.locator("main").inner_text().count("gate.decided") >= 3  # two deliveries and the choice
        root.screenshot(path=str(artifacts / "admin-webhook-log.png"), full_page=True)
        root.goto(f"/deals/{iid}")
        assert "may not see deal" in root.inner_text("main"), "administering shows no deal data"
        assert [e for e in root.errors if "403" not in e] == [], root.errors  # the refused deal page is the one 403

        sam = signed_in(new_page(server.url), "sam")
        sam.click("nav >> text=Mail settings")
        sam.fill("input[name=email]", "sam@example.com")
        sam.check("input[value=digest]")
        sam.click("button:has-text('Save')")
        assert "Notification settings saved." in sam.inner_text("main")
        assert sam.is_checked("input[value=digest]")
        sam.screenshot(path=str(artifacts / "account-notifications.png"), full_page=True)


def test_on_a_phone_the_webhook_form_stacks_its_fields_and_checkboxes_and_shows_real_buttons(new_page, tmp_path,
                                                                                              artifacts):
    with serve_catalog(tmp_path / "phone.db") as server:
        add_user(server.sg, "root", ["Administrator"], "cli:test", password=PASSWORD)
        root = signed_in(new_page(server.url), "root")
        root.set_viewport_size({"width": 390, "height": 844})
        root.goto("/admin/webhooks")
        form = root.locator("form[aria-label='Add a subscription']")
        width = root.evaluate("document.documentElement.clientWidth")
        assert root.evaluate("document.documentElement.scrollWidth") <= width
        # each field under its label, as wide as the form
        for field in ("url", "description"):
            label, box = root.locator(f"label[for={field}]").bounding_box(), root.locator(f"#{field}").bounding_box()
            assert label["y"] + label["height"] <= box["y"] + 1 and box["width"] >= form.bounding_box()["width"] - 40
        # the event checkboxes in one column, each box beside its name, rows tall enough to tap
        checks = form.locator("label.check")
        boxes = [checks.nth(i).bounding_box() for i in range(checks.count())]
        assert len({round(b["x"]) for b in boxes}) == 1 and all(b["height"] >= 32 for b in boxes)
        for i in range(checks.count()):
            tick, name = checks.nth(i).locator("input").bounding_box(), checks.nth(i).locator("code").bounding_box()
            assert tick["x"] + tick["width"] <= name["x"] and abs((tick["y"] + tick["height"] / 2)
                                                                 - (name["y"] + name["height"] / 2)) < 4
        # the submit button looks like the app's buttons, not the browser's
        subscribe = root.get_by_role("button", name="Subscribe")
        brand = root.evaluate("getComputedStyle(document.documentElement).getPropertyValue('--brand').trim()")
        assert subscribe.evaluate("b => getComputedStyle(b).backgroundColor") == root.evaluate(
            "c => { const s = document.createElement('span'); s.style.color = c; document.body.append(s);"
            " const v = getComputedStyle(s).color; s.remove(); return v; }", brand)
        assert subscribe.bounding_box()["height"] >= 36
        root.screenshot(path=str(artifacts / "admin-webhooks-390.png"), full_page=True)

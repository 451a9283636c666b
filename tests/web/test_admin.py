"""The Administrator's pages: users and roles, webhook subscriptions and their delivery log, the mail
log and the workers' status; each change audited; administering shows no deal data."""
import re

import pytest
from sqlalchemy import select

from engine.store.models import AuditEvent
from engine.services.notification_settings import settings_of
from engine.services.relay import deliver_due, relay_events
from engine.services.users import add_user
from engine.services.worker import worker_pass
from tests.receivers import WebhookReceiver

from .conftest import text


@pytest.fixture
def admin(sg, sign_in):
    add_user(sg, "root", ["Administrator"], "cli:test")
    return sign_in("root")


def audited(sg, actor):
    with sg.uow(write=False) as uow:
        return [k for k, in uow.session.execute(select(AuditEvent.kind).where(AuditEvent.actor == actor,
                                                                              AuditEvent.kind != "signed_in")
                                                .order_by(AuditEvent.seq))]


def test_staff_cannot_reach_the_admin_pages(sign_in):
    sam = sign_in("sam")
    for path in ("/admin/", "/admin/users", "/admin/webhooks", "/admin/mail"):
        assert sam.get(path).status_code == 403
    r = sam.post("/admin/users", {"action": "add", "name": "eve", "roles": "Administrator"})
    assert r.status_code == 403
    assert "Admin</a>" not in sam.get("/").get_data(as_text=True)


def test_an_administrator_manages_users_and_every_change_is_audited(admin, sg, browser):
    r = admin.post("/admin/users", {"action": "add", "name": "nina", "roles": "Finance, Quality",
                                    "password": "a good password"}, page="/admin/users")
    assert r.status_code == 302
    page = text(admin.get("/admin/users"))
    assert re.search(r"nina\s+Finance, Quality\s+active", page), page
    admin.post("/admin/users", {"action": "revoke", "name": "nina", "roles": "Quality"}, page="/admin/users")
    admin.post("/admin/users", {"action": "password", "name": "nina", "password": "another password"}, page="/admin/users")
    admin.post("/admin/users", {"action": "deactivate", "name": "nina"}, page="/admin/users")
    assert browser.login("nina", "another password").status_code != 302, "a deactivated user cannot sign in"
    r = admin.post("/admin/users", {"action": "password", "name": "nina", "password": "short"}, page="/admin/users")
    assert r.status_code == 422 and "8 to" in text(r)
    assert audited(sg, "root") == ["user_created", "roles_revoked", "password_set", "user_deactivated"]


def test_administering_grants_no_deal_data(admin, sg, catalog):
    from engine.services.instances import start_instance
    from tests.drive import GOOD_PROSPECT

    iid = start_instance(sg, "opportunity", "sam", GOOD_PROSPECT)["id"]
    assert admin.get(f"/deals/{iid}").status_code == 403
    assert "Acme pumps" not in admin.get("/deals").get_data(as_text=True)


def test_an_administrator_subscribes_a_webhook_and_reads_its_delivery_log(admin, sg):
    from engine.services.instances import start_instance
    from tests.drive import GOOD_PROSPECT

    with WebhookReceiver(None, lambda n: "fail" if n == 0 else "ok") as rx:
        r = admin.post("/admin/webhooks", {"url": rx.url, "events": ["gate.decided", "deal.started"]},
                       page="/admin/webhooks")
        assert r.status_code == 201
        secret = re.search(r'data-testid="secret">(whsec_[^<]+)<', r.get_data(as_text=True)).group(1)
        assert secret not in admin.get("/admin/webhooks").get_data(as_text=True), "the secret is shown once"
        start_instance(sg, "opportunity", "sam", GOOD_PROSPECT)
        relay_events(sg)
        deliver_due(sg)
        sg.clock.advance(minutes=1)
        deliver_due(sg)
    log = text(admin.get("/admin/webhooks/1"))
    assert "gate.decided" in log and "deal.started" in log
    assert "500 (HTTP 500" in log and "204" in log
    r = admin.post("/admin/webhooks/1", {"action": "save", "url": rx.url}, page="/admin/webhooks/1")
    assert r.status_code == 422 and "choose at least one" in text(r), "unticking every event is refused"
    for bogus in ("99", "1" * 30, "x"):
        r = admin.post("/admin/webhooks/1", {"action": "replay", "delivery_id": bogus}, page="/admin/webhooks/1")
        assert r.status_code == 404 and "has no delivery" in text(r)
    r = admin.post("/admin/webhooks/1", {"action": "rotate"}, page="/admin/webhooks/1")
    rotated = re.search(r'data-testid="secret">(whsec_[^<]+)<', r.get_data(as_text=True)).group(1)
    assert r.status_code == 200 and rotated != secret
    r = admin.post("/admin/webhooks/1", {"action": "pause"}, page="/admin/webhooks/1")
    assert r.status_code == 302 and "paused" in text(admin.get("/admin/webhooks"))
    r = admin.post("/admin/webhooks", {"url": "file:///etc/passwd", "events": ["gate.decided"]}, page="/admin/webhooks")
    assert r.status_code == 422 and "http://" in text(r)
    assert audited(sg, "root") == ["webhook_subscribed", "webhook_secret_rotated", "webhook_changed"]


def test_status_and_mail_log_show_what_the_worker_did(admin, sg, catalog):
    from engine.services.instances import start_instance
    from tests.drive import GOOD_PROSPECT

    assert "No worker has run yet" in text(admin.get("/admin/"))
    start_instance(sg, "opportunity", "sam", GOOD_PROSPECT)
    assert re.search(r"Outbox: 4 events waiting", text(admin.get("/admin/")))
    worker_pass(sg, "host:1", sg.now())
    page = text(admin.get("/admin/"))
    assert "host:1" in page and "Outbox: 0 events waiting" in page and "not set: mail is kept" in page
    mail = text(admin.get("/admin/mail"))
    assert "New task for your role: Discovery" in mail and "no_address" in mail
    assert "Acme pumps" not in mail, "the text names the deal: it is for its recipient only"


def test_a_person_chooses_their_mail_on_the_account_page(sign_in, sg):
    sam = sign_in("sam")
    r = sam.post("/account/notifications", {"email": "sam@example.com", "task_mail": "digest"},
                 page="/account/notifications")
    assert r.status_code == 302
    assert settings_of(sg, "sam", "sam")["task_mail"] == "digest"
    page = sam.get("/account/notifications").get_data(as_text=True)
    assert 'value="digest" checked' in page and "sam@example.com" in page
    r = sam.post("/account/notifications", {"email": "not an address", "task_mail": "hourly"},
                 page="/account/notifications")
    assert r.status_code == 422 and "email" in text(r) and "task_mail" in text(r)
    assert audited(sg, "sam")[-1:] == ["mail_settings_changed"]
    from engine.services.instances import start_instance
    from tests.drive import GOOD_PROSPECT

    start_instance(sg, "opportunity", "sally", GOOD_PROSPECT)
    worker_pass(sg, "host:1", sg.now())
    mine = text(sam.get("/account/notifications"))
    assert "New task for your role: Discovery" in mine and "'Discovery' on deal #1 Acme pumps" in mine

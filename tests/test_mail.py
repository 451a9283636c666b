"""Mail over real SMTP (aiosmtpd on a loopback port): people hear of tasks opening for their roles
(at once or in a daily digest), of tasks given to them, of SLAs about to pass and of escalations;
a rolled-back step mails no one, and a mail server that is down delays mail, never a step."""
from datetime import timedelta

import pytest

from engine.queries import records as queries
from engine.services.claims import reassign_task
from engine.errors import FormInvalid, Refused
from engine.services.steps import parse_instant
from engine.integration_settings import IntegrationSettings
from engine.queries.integrations import mail_log
from engine.services.notification_settings import set_settings
from engine.services.worker import worker_pass
from tests.drive import DISCOVERY, Driver
from tests.receivers import MailCatcher, free_port

WID = "test-worker"


@pytest.fixture
def smtp():
    with MailCatcher() as catcher:
        yield catcher


@pytest.fixture
def drive(catalog, make_sg, smtp):
    d = Driver(make_sg)
    d.build = make_sg
    use(d, IntegrationSettings(smtp_host="127.0.0.1", smtp_port=smtp.port, base_url="https://sg.example.com"))
    for name in ("sam", "sally", "fiona", "carl", "lena"):
        set_settings(d.sg, "cli:test", name, email=f"{name}@example.com")
    return d


def use(drive, cfg):
    """Every runtime the driver builds from now on reaches the outside with `cfg`."""
    def make(clock=None):
        sg = drive.build(clock=clock)
        sg.integrations = cfg
        return sg
    drive.make_sg = make
    drive.sg.integrations = cfg


def work(drive):
    return worker_pass(drive.sg, WID, drive.sg.now())


def inbox_of(smtp, address):
    return [m for m in smtp.messages if m["To"] == address]


def test_a_task_opening_mails_the_people_of_its_role_with_a_link(drive, smtp):
    set_settings(drive.sg, "sally", "sally", task_mail="off")
    iid = drive.start()["id"]
    assert smtp.messages == [], "nothing is sent inside the step"
    r = work(drive)
    assert r["mail"]["sent"] == 1
    [m] = smtp.messages
    task = drive.ready(iid)["Task_Discovery"]
    assert m["To"] == "sam@example.com" and m["Subject"] == "New task for your role: Discovery"
    assert f"https://sg.example.com/tasks/{task['id']}" in m.get_content()
    assert inbox_of(smtp, "sally@example.com") == [], "sally chose no mail for tasks opening"


def test_a_rolled_back_step_mails_no_one(drive, smtp):
    iid = drive.start()["id"]
    work(drive)
    before = len(smtp.messages)
    with pytest.raises(FormInvalid):
        drive.work(iid, "Task_Discovery", "sam", pain_points="")
    with pytest.raises(Refused):
        drive.work(iid, "Task_Discovery", "fiona", **DISCOVERY)
    work(drive)
    assert len(smtp.messages) == before
    drive.work(iid, "Task_Discovery", "sam", **DISCOVERY)
    work(drive)
    assert [m["Subject"] for m in inbox_of(smtp, "lena@example.com")] == ["New task for your role: Discovery gate review"]


def test_the_digest_folds_a_days_task_mail_into_one(drive, smtp):
    set_settings(drive.sg, "sam", "sam", task_mail="digest")
    drive.sg.clock._now = drive.sg.now().replace(hour=6, minute=0)
    drive.start()
    drive.start(deal_name="Beta pumps")
    work(drive)
    assert inbox_of(smtp, "sam@example.com") == [], "before the digest hour nothing goes"
    drive.sg.clock.advance(hours=1, minutes=5)
    work(drive)
    [digest] = inbox_of(smtp, "sam@example.com")
    assert digest["Subject"] == "Your Stagegate digest: 2 new tasks"
    assert digest.get_content().count("https://sg.example.com/tasks/") == 2
    drive.sg.clock.advance(hours=2)
    drive.start(deal_name="Gamma pumps")
    work(drive)
    assert len(inbox_of(smtp, "sam@example.com")) == 1, "one digest a day"


def test_reassignment_sla_warning_and_escalation_mail_the_person_concerned(drive, smtp, staff):
    iid = drive.to_sign_offs()
    pricing = drive.ready(iid)["Task_SignOffPricing"]
    work(drive)
    staff({"frank": ["Finance"]})
    set_settings(drive.sg, "cli:test", "frank", email="frank@example.com")
    reassign_task(drive.fresh(), pricing["id"], "carl", "frank")
    work(drive)
    assert [m["Subject"] for m in inbox_of(smtp, "frank@example.com")] == ["Assigned to you: Sign off pricing and margin"]

    due = min(t["due_at"] for t in queries.ready_tasks(drive.sg, instance_id=iid) if t.get("due_at"))
    drive.sg.clock._now = parse_instant(due) - timedelta(hours=12)
    work(drive)
    work(drive)  # a second pass warns no one twice
    assert [m["Subject"] for m in inbox_of(smtp, "frank@example.com")][1:] == ["Due soon: Sign off pricing and margin"]
    assert inbox_of(smtp, "fiona@example.com")[-1]["Subject"] != "Due soon: Sign off pricing and margin", \
        "the warning goes to whom the task is assigned"

    drive.sg.clock.advance(hours=13)
    work(drive)  # the SLA timer fires: the escalation opens for the Finance head
    assert "Escalated to you: Chase overdue pricing sign-off" in [m["Subject"] for m in inbox_of(smtp, "carl@example.com")]


def test_a_mail_server_that_is_down_delays_mail_never_a_step(drive, smtp):
    up = drive.sg.integrations
    down = IntegrationSettings(smtp_host="127.0.0.1", smtp_port=free_port(), base_url=up.base_url)
    use(drive, down)
    iid = drive.start()["id"]
    drive.work(iid, "Task_Discovery", "sam", **DISCOVERY)  # steps go on while mail cannot
    r = work(drive)
    assert r["mail"]["failed"] == 3  # Discovery for sam and sally, its gate review for lena
    [failed, *_] = [m for m in mail_log(drive.sg, "cli:test") if m["state"] == "failed"]
    assert "Connection refused" in failed["last_error"] or "ConnectionRefused" in failed["last_error"]
    use(drive, up)
    assert work(drive)["mail"]["sent"] == 0, "the next try waits for its backoff"
    drive.sg.clock.advance(minutes=2)
    assert work(drive)["mail"]["sent"] == 3
    assert sorted(m["To"] for m in smtp.messages) == ["lena@example.com", "sally@example.com", "sam@example.com"]


def test_without_smtp_mail_is_kept_as_a_log(drive, smtp):
    use(drive, IntegrationSettings())
    drive.start()
    assert work(drive)["mail"]["logged"] == 2  # sam and sally hold Sales
    [m] = mail_log(drive.sg, "sam", "sam")
    assert m["state"] == "logged" and m["subject"] == "New task for your role: Discovery"
    with pytest.raises(Refused):
        mail_log(drive.sg, "sam", None)
    assert smtp.messages == []


def test_another_feature_mails_a_person_only_if_its_transaction_commits(drive, smtp):
    from engine.services.mail import notify_person

    for commit in (False, True):
        with drive.sg.uow() as uow:
            notify_person(uow.session, drive.sg.integrations, "fiona", "mentioned", f"lena mentioned you ({commit})",
                          "On deal #1: @fiona can you check the margin?", "/deals/1", drive.sg.now())
            if commit:
                uow.commit()
    work(drive)
    [m] = inbox_of(smtp, "fiona@example.com")
    assert m["Subject"] == "lena mentioned you (True)" and "https://sg.example.com/deals/1" in m.get_content()


def test_mail_the_server_cannot_take_for_three_days_is_dead_with_its_error(drive, smtp):
    down = IntegrationSettings(smtp_host="127.0.0.1", smtp_port=free_port())
    use(drive, down)
    drive.start()
    assert work(drive)["mail"]["failed"] == 2
    drive.sg.clock.advance(days=3, hours=1)
    work(drive)
    states = {m["state"] for m in mail_log(drive.sg, "cli:test")}
    assert states == {"dead"}
    assert all(m["last_error"] for m in mail_log(drive.sg, "cli:test"))

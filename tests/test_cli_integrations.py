"""The integration commands from a shell: webhook subscriptions, mail settings, status, and
`stagegate worker --once` sending mail to a real SMTP server named by the environment."""
import json
import re

import pytest

from engine.services.deployment import collect_files, deploy
from tests.conftest import DIAGRAMS
from tests.test_cli import cli  # noqa: F401 - the fixture
from tests.drive import GOOD_PROSPECT
from tests.receivers import MailCatcher, WebhookReceiver


@pytest.fixture
def shell(cli, sg, staff):
    """`stagegate` in a subprocess (tests/test_cli.py's), on a database with the catalog, sam and lena
    (put there in process: the commands that do it are tested in tests/test_cli.py)."""
    staff({"sam": ["Sales"], "lena": ["Sales Leadership"]})
    deploy(sg, collect_files([DIAGRAMS]), actor="cli:test")
    return cli


def test_the_worker_sends_mail_and_webhooks_configured_from_the_environment(shell):
    cli = shell
    assert cli("mail", "settings", "sam", "--email", "sam@example.com").stdout.strip() == \
        "sam: sam@example.com, task mail immediate"
    assert cli("status").stdout.startswith("no worker has run yet: start `stagegate worker`")
    bad = cli("mail", "settings", "sam", "--email", "not an address", ok=False)
    assert bad.returncode == 1 and "email: must be one mail address" in bad.stderr
    with WebhookReceiver(None) as rx, MailCatcher() as smtp:
        made = cli("webhook", "add", rx.url, "--event", "gate.decided", "--description", "CRM").stdout
        assert re.search(r"subscription 1: .* <- gate.decided\nsigning secret \(shown once\): whsec_\S+", made)
        cli("start", "opportunity", "--user", "sam", "--data", json.dumps(GOOD_PROSPECT))
        out = cli("worker", "--once", STAGEGATE_SMTP_HOST="127.0.0.1", STAGEGATE_SMTP_PORT=str(smtp.port),
                  STAGEGATE_BASE_URL="https://sg.example.com").stdout
        assert "mail 1 sent" in out and "webhooks 1 delivered" in out
        [mail] = smtp.messages
        assert mail["To"] == "sam@example.com" and "https://sg.example.com/tasks/" in mail.get_content()
        assert json.loads(rx.requests[0]["body"])["data"]["outcome"] == "go"
    log = cli("webhook", "log", "1").stdout
    assert re.match(r"delivery 1 gate.decided deal 1 msg_\w+: delivered, 1 attempts", log)
    assert "1 delivered" in cli("webhook", "list").stdout
    status = json.loads(cli("status", "--json").stdout)
    assert status["mail"] == {"sent": 1} and status["webhooks"] == {"delivered": 1}
    assert status["workers"][0]["last_pass"]["relayed"] == 4


def test_only_an_administrator_may_act_as_admin_from_the_shell(shell):
    cli = shell
    p = cli("webhook", "add", "https://example.com/h", "--event", "gate.decided", "--user", "sam", ok=False)
    assert p.returncode == 1 and "sam may not manage webhook subscriptions" in p.stderr
    p = cli("worker", "--once", STAGEGATE_SMTP_SECURITY="ssl", ok=False)
    assert p.returncode == 1 and p.stderr.strip() == "error: STAGEGATE_SMTP_SECURITY must be one of none, starttls, tls"

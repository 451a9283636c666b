"""`stagegate message`: a contract signed from the command line reaches the waiting deal; nobody
waiting is exit 1 with the reason, no traceback."""
import json

from tests.message_diagrams import lead
from tests.test_cli import cli  # noqa: F401 - the fixture


def test_a_message_from_the_cli_starts_a_deal_and_a_second_finds_nobody_waiting(cli, tmp_path):  # noqa: F811
    (tmp_path / "lead.bpmn").write_bytes(lead())
    cli("user", "add", "dora", "--role", "Process Designer")
    cli("user", "add", "webform", "--role", "Integration")
    cli("deploy", str(tmp_path / "lead.bpmn"), "--user", "dora")
    out = cli("message", "web lead", "--user", "webform", "--data", '{"company": "Cobalt"}', "--message-id", "f-1")
    assert out.stdout.startswith("#1 lead: started; now running"), out.stdout
    again = cli("message", "web lead", "--user", "webform", "--data", '{"company": "Cobalt"}', "--message-id", "f-1")
    assert "a retry: delivered before" in again.stdout
    assert json.loads(cli("show", "1", "--json").stdout)["data"]["company"] == "Cobalt"
    assert [t["name"] for t in json.loads(cli("tasks", "--instance", "1", "--json").stdout)] == ["Qualify lead"]
    refused = cli("message", "contract signed", "--user", "webform", "--key", "customer=Acme", ok=False)
    assert refused.returncode == 1 and "no running deal waits for the message 'contract signed'" in refused.stderr

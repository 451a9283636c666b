"""`stagegate comment`, `comments`, `attachments` and `download`: a deal's comments and files from the
command line, with the deal page's role checks; a refusal is exit 1 with the reason, no traceback."""
import io
import json

from engine.services import attachments as files
from engine.services.deployment import collect_files, deploy
from stagegate.compose import open_file_store
from tests.conftest import DIAGRAMS
from tests.drive import GOOD_PROSPECT
from tests.test_cli import cli  # noqa: F401 - the fixture

PDF = b"%PDF-1.7\n" + b"0" * 300 + b"\n%%EOF\n"


def test_comment_list_and_download_from_the_cli(cli, sg, staff, tmp_path):  # noqa: F811
    # The catalog and the cast, in process: those commands are tests/test_cli.py's.
    staff({"sam": ["Sales"], "fiona": ["Finance"], "ada": ["Auditor"], "dora": ["Process Designer"]})
    deploy(sg, collect_files([DIAGRAMS]), actor="cli:test")
    iid = cli("start", "opportunity", "--user", "sam", "--data", json.dumps(GOOD_PROSPECT)).stdout.strip()
    out = cli("comment", iid, "@fiona please check the margin, @ghost too", "--user", "sam").stdout
    assert out.startswith(f"comment 1 on deal #{iid}; notified fiona; not notified") and "ghost" in out
    listed = json.loads(cli("comments", iid, "--user", "fiona", "--json").stdout)
    assert [(c["author"], c["mentions"]) for c in listed] == [("sam", ["fiona"])]
    assert "sam: @fiona please check the margin" in cli("comments", iid, "--user", "ada").stdout

    refused = cli("comment", iid, "an auditor's note", "--user", "ada", ok=False)
    assert refused.returncode == 1 and refused.stderr.startswith("refused:") and "ada" in refused.stderr
    empty = cli("comment", iid, "   ", "--user", "sam", ok=False)
    assert empty.returncode == 1 and "body: is empty" in empty.stderr
    hidden = cli("attachments", iid, "--user", "dora", ok=False)
    assert hidden.returncode == 1 and "dora may not see deal" in hidden.stderr

    store_dir = tmp_path / "files"
    made = files.upload(sg, open_file_store(str(store_dir)), int(iid), "sam", "Signed contract.pdf", io.BytesIO(PDF))
    listed = cli("attachments", iid, "--user", "fiona").stdout
    assert f"Signed contract.pdf  {len(PDF)} bytes  application/pdf  by sam" in listed
    target = tmp_path / "contract.pdf"
    got = cli("download", str(made["id"]), "--user", "ada", "-o", str(target), STAGEGATE_ATTACHMENTS_DIR=str(store_dir))
    assert got.stdout.strip() == f"wrote Signed contract.pdf ({len(PDF)} bytes) to {target}"
    assert target.read_bytes() == PDF
    again = cli("download", str(made["id"]), "--user", "ada", "-o", str(target), ok=False)
    assert again.returncode == 2 and "exists" in again.stderr and target.read_bytes() == PDF
    history = json.loads(cli("history", iid, "--json").stdout)
    assert [(e["kind"], e["actor"]) for e in history if e["kind"].startswith(("comment", "attachment"))] == [
        ("comment_added", "sam"), ("attachment_uploaded", "sam"), ("attachment_downloaded", "ada")]

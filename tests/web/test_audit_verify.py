"""The auditor's /audit/verify page: the keyed chain check, and the checkpoints (a configured file or
an uploaded one) that show a cut tail."""
import io

import pytest

from engine.queries import records as queries
from engine.audit.verify import checkpoint_line
from tests.tamper import cut_tail, relink_plainly, tamper
from web import create_app

from engine.services.users import set_password

from .conftest import PASSWORD, Browser, text


@pytest.fixture
def events(sg, driver):
    """A deal's worth of audit events; their number."""
    driver.to_proposal()
    return queries.verify_audit(sg)["events"]


def _checkpoint_file(sg, path):
    path.write_text(checkpoint_line(queries.audit_checkpoint(sg)["checkpoint"]) + "\n")
    return path


def test_an_edited_event_with_its_plain_hashes_recomputed_shows_as_broken(sg, sign_in, events):
    ada = sign_in("ada")
    assert "Intact: all" in text(ada.get("/audit/verify"))
    tamper(sg.engine, "UPDATE audit_events SET actor = 'mallory' WHERE seq = 4")
    relink_plainly(sg.engine, 4)
    page = text(ada.get("/audit/verify"))
    assert "Broken at event 4 (" in page and "by mallory" in page and "altered" in page


def test_the_configured_checkpoint_file_shows_a_cut_tail(sg, events, tmp_path):
    kept = tmp_path / "audit.checkpoints"
    app = create_app({"STAGEGATE": sg, "TESTING": True, "SECRET_KEY": "test-secret", "AUDIT_CHECKPOINTS": str(kept)})
    set_password(sg, "ada", PASSWORD, "cli:test")
    ada = Browser(app.test_client())
    assert ada.login("ada").status_code == 302
    assert f"the checkpoint file {kept} cannot be read" in text(ada.get("/audit/verify"))
    _checkpoint_file(sg, kept)
    events = queries.verify_audit(sg)["events"]
    page = text(ada.get("/audit/verify"))
    assert "Intact: all" in page and f"Checked against the checkpoint file {kept}: 1 checkpoint(s) hold" in page
    cut_tail(sg.engine, 3)
    page = text(ada.get("/audit/verify"))
    assert f"Broken at event {events - 2}: the checkpoint of" in page and f"recorded {events} events" in page
    assert f"events {events - 2} to {events} were cut" in page


def test_an_auditor_can_check_an_uploaded_checkpoint_file(sg, sign_in, events, tmp_path):
    ada = sign_in("ada")
    assert "No checkpoint file is configured" in text(ada.get("/audit/verify"))
    kept = _checkpoint_file(sg, tmp_path / "audit.checkpoints").read_bytes()
    events = queries.verify_audit(sg)["events"]
    cut_tail(sg.engine, 2)
    assert "Intact: all" in text(ada.get("/audit/verify")), "the key alone cannot see a cut tail"
    r = ada.post("/audit/verify", {"checkpoints": (io.BytesIO(kept), "audit.checkpoints")}, page="/audit/verify")
    assert r.status_code == 200
    assert f"events {events - 1} to {events} were cut" in text(r)
    assert "Checked against the uploaded file audit.checkpoints: see above" in text(r)
    altered = kept.replace(b'"events": ', b'"events": 1')
    r = ada.post("/audit/verify", {"checkpoints": (io.BytesIO(altered), "audit.checkpoints")}, page="/audit/verify")
    assert "Checkpoints not checked: the uploaded file audit.checkpoints, line 1: its signature does not match" \
        in text(r)
    assert "refused" not in [e["kind"] for e in queries.history(sg, 1)], "checking is not a change"


def test_staff_cannot_use_the_verify_page(sign_in, events):
    sam = sign_in("sam")
    assert sam.get("/audit/verify").status_code == 403
    r = sam.post("/audit/verify", {"checkpoints": (io.BytesIO(b""), "x")}, page="/")
    assert r.status_code == 403

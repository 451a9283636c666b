"""A deal's business key on the pages: shown on the deals list, the deal, the inbox and the audit
history, and found by its start on each."""
from engine.services.instances import start_instance
from tests.drive import GOOD_PROSPECT

from .conftest import text


def _start(sg, key, name):
    return start_instance(sg, "opportunity", "sam", {**GOOD_PROSPECT, "deal_name": name}, business_key=key)["id"]


def test_the_business_key_is_shown_and_found_on_deals_inbox_and_audit(sg, catalog, sign_in):
    acme = _start(sg, "CRM-100%_A", "Acme plant")
    _start(sg, "CRM-200", "Beta mill")
    _start(sg, None, "Gamma works")
    sam = sign_in("sam")
    html = text(sam.get("/deals"))
    assert "CRM-100%_A" in html and "CRM-200" in html and "Gamma works" in html
    found = text(sam.get("/deals?key=CRM-1"))
    assert "Acme plant" in found and "Beta mill" not in found and "Gamma works" not in found
    assert "Acme plant" not in text(sam.get("/deals?key=CRM-1__"))  # _ and % are plain characters
    assert "Business key: CRM-100%_A" in text(sam.get(f"/deals/{acme}"))

    inbox = text(sam.get("/?key=CRM-2"))
    assert "Beta mill" in inbox and "CRM-200" in inbox and "Acme plant" not in inbox
    assert "Showing the first" not in inbox  # the one task of that deal is all there is
    assert "Acme plant" in text(sam.get("/")) and "Gamma works" in text(sam.get("/"))

    ada = sign_in("ada")
    log = text(ada.get("/audit?business_key=CRM-100"))
    assert f"#{acme}" in log and "instance_started" in log
    assert "#" + str(acme + 1) not in log
    assert "Business key: CRM-100%_A" in text(ada.get(f"/audit/deals/{acme}"))

"""Attachments on deals and tasks: size and type limits, no path traversal, downloads as files
with nosniff, every upload and download audited, files outside the rows steps rewrite (they
survive a restart and are not duplicated by steps)."""
from __future__ import annotations

import io
import re

import pytest

from engine.services import attachments as files
from engine.queries import records as queries
from engine.store.models.collab import Attachment
from engine.store.file_store import LocalFileStore
from tests.drive import PROPOSAL
from web import create_app

from .conftest import Browser, text

PDF = b"%PDF-1.7\n" + b"0" * 2000 + b"\n%%EOF\n"


def upload(page, iid, name, content, task_id=None):
    data = {"file": (io.BytesIO(content), name), **({"task_id": task_id} if task_id else {})}
    return page.post(f"/deals/{iid}/attachments", data, page=f"/deals/{iid}", content_type="multipart/form-data")


def stored_files(root) -> list:
    return sorted(p for p in root.rglob("*") if p.is_file())


def test_upload_then_download_as_a_file_with_nosniff_and_both_audited(sign_in, driver, sg, app, tmp_path):
    iid = driver.to_proposal()
    sam = sign_in("sam")
    r = upload(sam, iid, "Proposal v2.pdf", PDF)
    assert r.status_code == 302
    page = sam.get(f"/deals/{iid}").get_data(as_text=True)
    assert "Attached Proposal v2.pdf" in text(sam.get(f"/deals/{iid}")) or "Proposal v2.pdf" in page
    href = re.search(r'href="(/attachments/\d+)"', page).group(1)
    got = sign_in("ada").get(href)  # an auditor may download
    assert got.status_code == 200 and got.data == PDF
    assert got.headers["X-Content-Type-Options"] == "nosniff"
    assert got.headers["Content-Disposition"].startswith("attachment;")
    assert "Proposal%20v2.pdf" in got.headers["Content-Disposition"]
    assert got.headers["Content-Type"] == "application/pdf"
    kinds = [(e["kind"], e["actor"]) for e in queries.history(sg, iid) if e["kind"].startswith("attachment_")]
    assert kinds == [("attachment_uploaded", "sam"), ("attachment_downloaded", "ada")]
    assert len(stored_files(tmp_path / "attachments")) == 1


@pytest.mark.parametrize("name, content, why", [
    ("tool.exe", b"MZ\x90\x00", "is a .exe file; allowed:"),
    ("contract.pdf", b"<html><script>alert(1)</script></html>", "does not look like a .pdf file"),
    ("notes.txt", b"\x00\x01\x02binary", "is not UTF-8 text"),
    ("empty.pdf", b"", "does not look like a .pdf file"),
    ("noextension", b"hello", "is a .(no extension) file"),
])
def test_files_of_a_type_not_allowed_or_not_what_their_name_says_are_refused(sign_in, driver, sg, tmp_path,
                                                                              name, content, why):
    iid = driver.to_proposal()
    sam = sign_in("sam")
    upload(sam, iid, name, content)
    assert why in text(sam.get(f"/deals/{iid}"))
    assert files.attachments(sg, iid, "sam") == []
    assert stored_files(tmp_path / "attachments") == [], "nothing is kept of a refused file"


def test_a_file_over_the_size_limit_is_refused_and_nothing_is_kept(sg, driver, tmp_path):
    iid = driver.to_proposal()
    store = LocalFileStore(tmp_path / "store")
    with pytest.raises(files.FormInvalid) as caught:
        files.upload(sg, store, iid, "sam", "big.pdf", io.BytesIO(PDF + b"0" * 5000), max_bytes=4096)
    assert "larger than the limit" in caught.value.errors["file"]
    assert files.attachments(sg, iid, "sam") == [] and stored_files(tmp_path / "store") == []


def test_the_request_over_the_limit_is_a_413(sign_in, driver, monkeypatch):
    iid = driver.to_proposal()
    r = upload(sign_in("sam"), iid, "huge.pdf", PDF + b"0" * (files.MAX_BYTES + 128 * 1024))
    assert r.status_code == 413


def test_a_name_with_folders_cannot_reach_outside_the_store(sign_in, driver, sg, tmp_path):
    iid = driver.to_proposal()
    upload(sign_in("sam"), iid, "../../../etc/passwd.txt", b"root:x:0:0")
    upload(sign_in("sam"), iid, "..\\..\\win.ini.txt", b"[fonts]")
    rows = files.attachments(sg, iid, "sam")
    assert [r["file_name"] for r in rows] == ["passwd.txt", "win.ini.txt"]
    inside = stored_files(tmp_path / "attachments")
    assert len(inside) == 2 and all((tmp_path / "attachments") in p.parents for p in inside)
    assert not (tmp_path / "etc").exists()
    with pytest.raises(ValueError):
        LocalFileStore(tmp_path / "attachments").open("../../etc/passwd")


def test_task_files_need_someone_who_may_work_the_task(sign_in, driver, sg):
    iid = driver.to_proposal()
    task_id = driver.ready(iid)["Task_PrepareProposal"]["id"]
    assert upload(sign_in("fiona"), iid, "quote.pdf", PDF, task_id=task_id).status_code == 403
    upload(sign_in("sam"), iid, "quote.pdf", PDF, task_id=task_id)
    assert "quote.pdf" in text(sign_in("sam").get(f"/tasks/{task_id}"))
    assert upload(sign_in("ada"), iid, "x.pdf", PDF).status_code == 403, "auditors change nothing"
    assert [a["task_id"] for a in files.attachments(sg, iid, "sam")] == [task_id]


def test_files_survive_a_restart_and_steps_do_not_copy_them(sign_in, driver, sg, make_sg, tmp_path, catalog):
    iid = driver.to_proposal()
    upload(sign_in("sam"), iid, "brief.pdf", PDF)
    driver.work(iid, "Task_PrepareProposal", "sam", **PROPOSAL)  # steps rewrite the deal's row
    with sg.uow(write=False) as uow:
        assert uow.session.query(Attachment).count() == 1
    assert len(stored_files(tmp_path / "attachments")) == 1
    # a new process: a new Stagegate and app on the same database and folder
    again = create_app({"STAGEGATE": make_sg(), "TESTING": True, "SECRET_KEY": "test-secret",
                        "ATTACHMENTS_DIR": str(tmp_path / "attachments")})
    b = Browser(again.test_client())
    assert b.login("sam").status_code == 302
    href = re.search(r'href="(/attachments/\d+)"', b.get(f"/deals/{iid}").get_data(as_text=True)).group(1)
    assert b.get(href).data == PDF


def test_a_form_field_of_type_file_uploads_the_file_onto_the_task_and_links_it_from_the_data(sign_in, driver, sg):
    iid = driver.to_proposal()
    task_id = driver.ready(iid)["Task_PrepareProposal"]["id"]
    sam = sign_in("sam")
    page = sam.get(f"/tasks/{task_id}").get_data(as_text=True)
    assert 'enctype="multipart/form-data"' in page and 'type="file" id="field-proposal_document"' in page
    form = {**{k: str(v) for k, v in PROPOSAL.items()}, "proposal_document": (io.BytesIO(PDF), "Offer.pdf")}
    r = sam.post(f"/tasks/{task_id}", form, page=f"/tasks/{task_id}", content_type="multipart/form-data")
    assert r.status_code == 302, text(r)
    [a] = files.attachments(sg, iid, "sam")
    assert a["file_name"] == "Offer.pdf" and a["task_id"] == task_id
    assert driver.show(iid)["data"]["proposal_document"] == a["id"]
    deal = sam.get(f"/deals/{iid}").get_data(as_text=True)
    assert f'<a href="/attachments/{a["id"]}" download>Offer.pdf</a>' in deal


def test_a_refused_file_in_a_task_form_keeps_the_task_open_and_says_why(sign_in, driver, sg):
    iid = driver.to_proposal()
    task_id = driver.ready(iid)["Task_PrepareProposal"]["id"]
    sam = sign_in("sam")
    form = {**{k: str(v) for k, v in PROPOSAL.items()}, "proposal_document": (io.BytesIO(b"MZ"), "offer.exe")}
    r = sam.post(f"/tasks/{task_id}", form, page=f"/tasks/{task_id}", content_type="multipart/form-data")
    assert r.status_code == 422 and "Proposal document is a .exe file" in text(r)
    assert "Task_PrepareProposal" in driver.ready(iid) and files.attachments(sg, iid, "sam") == []

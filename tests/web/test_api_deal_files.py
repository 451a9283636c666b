"""The JSON API's comments and attachments: a CRM posts a comment that @mentions a colleague and reads
a deal's comments and files, with the same role checks and audit trail as the deal page."""
from __future__ import annotations

import io

from engine.queries import records as queries
from engine.services import attachments as files
from engine.services.comments import notifications
from tests.snapshot import stored
from web.attachments import STORE_KEY

PDF = b"%PDF-1.7\n" + b"0" * 300 + b"\n%%EOF\n"


def test_a_comment_posted_through_the_api_notifies_the_mentioned_and_is_audited(sg, api, driver, sign_in):
    iid = driver.to_sign_offs()
    sam = api("sam")
    r = sam("POST", f"/api/v1/instances/{iid}/comments", json={"body": "@fiona can we hold this price? @nobody"})
    assert r.status_code == 201, r.get_json()
    posted = r.get_json()
    assert posted["mentions"] == ["fiona"] and posted["not_notified"] == ["nobody"] and posted["author"] == "sam"
    title = queries.instance(sg, iid)["title"]
    assert [n["text"] for n in notifications(sg, "fiona")] == [f"sam mentioned you on {title}"]
    listed = api("fiona")("GET", f"/api/v1/instances/{iid}/comments").get_json()["comments"]
    assert [(c["author"], c["body"]) for c in listed] == [("sam", "@fiona can we hold this price? @nobody")]
    assert [(e["kind"], e["actor"]) for e in queries.history(sg, iid) if e["kind"] == "comment_added"] == [
        ("comment_added", "sam")]
    assert "can we hold this price?" in sign_in("fiona").get(f"/deals/{iid}").get_data(as_text=True)


def test_a_bad_comment_is_a_400_naming_the_field_and_stores_nothing(sg, api, driver):
    iid = driver.to_sign_offs()
    sam = api("sam")
    before = stored(sg)
    for body, field_error in [({"body": "   "}, "is empty"), ({"body": "x" * 5001}, "at most 5,000"),
                              ({"body": 7}, "required, a string"), ({}, "required, a string")]:
        r = sam("POST", f"/api/v1/instances/{iid}/comments", json=body)
        assert r.status_code == 400 and field_error in r.get_json()["errors"]["body"], (body, r.get_json())
    r = sam("POST", f"/api/v1/instances/{iid}/comments", data="not json", headers={"Content-Type": "text/plain"})
    assert r.status_code == 400 and "JSON object" in r.get_json()["error"]
    assert sam("POST", "/api/v1/instances/999999/comments", json={"body": "hello"}).status_code == 404
    assert stored(sg) == before
    assert sam("GET", f"/api/v1/instances/{iid}/comments").get_json() == {"comments": []}


def test_an_auditor_reads_comments_and_files_but_may_not_comment(sg, api, driver):
    iid = driver.to_sign_offs()
    api("sam")("POST", f"/api/v1/instances/{iid}/comments", json={"body": "first"})
    ada = api("ada")
    assert [c["body"] for c in ada("GET", f"/api/v1/instances/{iid}/comments").get_json()["comments"]] == ["first"]
    r = ada("POST", f"/api/v1/instances/{iid}/comments", json={"body": "an auditor's note"})
    assert r.status_code == 403 and "ada" in r.get_json()["error"]
    assert len(ada("GET", f"/api/v1/instances/{iid}/comments").get_json()["comments"]) == 1


def test_who_may_not_see_the_deal_reads_none_of_its_comments_or_files(api, driver):
    iid = driver.to_sign_offs()
    dora = api("dora")  # the process designer works on diagrams, not deals
    for path in (f"/api/v1/instances/{iid}/comments", f"/api/v1/instances/{iid}/attachments"):
        r = dora("GET", path)
        assert r.status_code == 403, (path, r.get_json())
    r = dora("POST", f"/api/v1/instances/{iid}/comments", json={"body": "hi"})
    assert r.status_code == 403


def test_attachments_are_listed_and_downloaded_as_files_and_each_download_is_audited(sg, app, api, driver):
    iid = driver.to_sign_offs()
    made = files.upload(sg, app.extensions[STORE_KEY], iid, "sam", "Signed contract.pdf", io.BytesIO(PDF))
    fiona = api("fiona")
    [listed] = fiona("GET", f"/api/v1/instances/{iid}/attachments").get_json()["attachments"]
    assert (listed["id"], listed["file_name"], listed["content_type"], listed["size"]) == (
        made["id"], "Signed contract.pdf", "application/pdf", len(PDF))
    got = api("ada")("GET", f"/api/v1/attachments/{made['id']}")
    assert got.status_code == 200 and got.data == PDF
    assert got.headers["X-Content-Type-Options"] == "nosniff"
    assert got.headers["Content-Disposition"].startswith("attachment;") and "Signed%20contract.pdf" in \
        got.headers["Content-Disposition"]
    assert [(e["kind"], e["actor"]) for e in queries.history(sg, iid) if e["kind"].startswith("attachment_")] == [
        ("attachment_uploaded", "sam"), ("attachment_downloaded", "ada")]
    assert api("dora")("GET", f"/api/v1/attachments/{made['id']}").status_code == 403
    assert fiona("GET", "/api/v1/attachments/999999").status_code == 404

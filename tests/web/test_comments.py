"""Comments on a deal with @mentions: the people named are notified in the app (a badge and a
list), the comment is in the deal's timeline and in the audit trail."""
from __future__ import annotations

import re

from engine.services import comments
from engine.queries import records as queries
from engine.services.users import add_user

from .conftest import text


def unread(page_html: str) -> int:
    found = re.search(r'<span class="count-badge"[^>]*>(\d+)</span>', page_html)
    return int(found.group(1)) if found else 0


def test_a_mention_notifies_the_person_named_who_opens_the_deal_from_the_list(sign_in, driver):
    iid = driver.to_sign_offs()
    sam = sign_in("sam")
    r = sam.post(f"/deals/{iid}/comments", {"body": "@fiona can you look at the margin? Thanks @lena."},
                 page=f"/deals/{iid}")
    assert r.status_code == 302
    page = sam.get(r.headers["Location"].split("#")[0])
    body = text(page)
    assert "can you look at the margin?" in body and "notified fiona, lena" in body
    assert "sam commented: “@fiona can you look at the margin?" in body, "the comment is in the deal's timeline"
    assert '<strong class="mention">@fiona</strong>' in page.get_data(as_text=True)

    fiona = sign_in("fiona")
    inbox = fiona.get("/").get_data(as_text=True)
    assert unread(inbox) == 1
    notes = fiona.get("/notifications")
    assert "sam mentioned you on Acme pumps" in text(notes)
    link = re.search(r'href="(/notifications/\d+)"', notes.get_data(as_text=True)).group(1)
    opened = fiona.get(link)
    assert opened.status_code == 302 and opened.headers["Location"].startswith(f"/deals/{iid}#comment-")
    assert unread(fiona.get("/").get_data(as_text=True)) == 0, "opening it marks it read"
    lena_link = re.search(r'href="(/notifications/\d+)"', sign_in("lena").get("/notifications").get_data(as_text=True))
    assert sam.get(lena_link.group(1)).headers["Location"] == "/notifications", "another's notification: not opened"
    assert unread(sign_in("lena").get("/").get_data(as_text=True)) == 1
    assert unread(sam.get("/").get_data(as_text=True)) == 0, "the author is not notified"


def test_the_comment_is_an_audit_event_with_its_text_and_who_was_notified(sign_in, driver, sg):
    iid = driver.to_proposal()
    sign_in("sam").post(f"/deals/{iid}/comments", {"body": "Met @pete on site"}, page=f"/deals/{iid}")
    events = [e for e in queries.history(sg, iid) if e["kind"] == "comment_added"]
    assert len(events) == 1 and events[0]["actor"] == "sam"
    assert events[0]["details"]["body"] == "Met @pete on site" and events[0]["details"]["mentions"] == ["pete"]


def test_people_who_may_not_see_the_deal_and_unknown_names_are_not_notified(sign_in, driver, sg):
    add_user(sg, "olga", ["Operations"], "cli:test")  # a role with no lane in the opportunity process
    iid = driver.to_proposal()
    sam = sign_in("sam")
    r = sam.post(f"/deals/{iid}/comments", {"body": "@olga @nobody @sam see this"}, page=f"/deals/{iid}")
    page = sam.get(r.headers["Location"].split("#")[0])
    assert "Not notified (no such user, or they may not see this deal): olga, nobody" in text(page)
    assert comments.unread_count(sg, "olga") == 0


def test_an_empty_or_oversized_comment_is_refused_and_nothing_is_stored(sign_in, driver, sg):
    iid = driver.to_proposal()
    sam = sign_in("sam")
    for body in ("   ", "x" * (comments.MAX_COMMENT + 1)):
        r = sam.post(f"/deals/{iid}/comments", {"body": body}, page=f"/deals/{iid}")
        assert r.status_code == 302
        assert "Comment not posted" in text(sam.get(f"/deals/{iid}"))
    assert comments.comments(sg, iid, "sam") == []


def test_only_people_who_may_see_the_deal_comment_and_auditors_may_not(sign_in, driver, sg):
    add_user(sg, "olga", ["Operations"], "cli:test")
    iid = driver.to_proposal()
    assert sign_in("olga").post(f"/deals/{iid}/comments", {"body": "hi"}, page="/").status_code == 403
    ada = sign_in("ada")
    assert "Add a comment" not in text(ada.get(f"/deals/{iid}"))
    assert ada.post(f"/deals/{iid}/comments", {"body": "hi"}, page="/").status_code == 403
    assert comments.comments(sg, iid, "ada") == []


def test_mentions_are_read_as_people_write_them():
    assert comments.mentioned_names("Thanks @lena. Ask @fiona, then @pete; mail ops@acme.com @lena") == [
        "lena", "fiona", "pete"]


def test_a_mention_mails_the_person_named_with_a_link_and_a_refused_comment_mails_no_one(sign_in, driver, sg):
    from sqlalchemy import select
    from engine.store.models import MailMessage
    iid = driver.to_sign_offs()
    sam = sign_in("sam")
    sam.post(f"/deals/{iid}/comments", {"body": "@fiona margin please"}, page=f"/deals/{iid}")
    sam.post(f"/deals/{iid}/comments", {"body": "@lena " + "x" * 20_000}, page=f"/deals/{iid}")  # too long: refused
    with sg.uow(write=False) as uow:
        mails = uow.session.execute(select(MailMessage).where(MailMessage.kind == "mentioned")).scalars().all()
        assert [m.user_name for m in mails] == ["fiona"]
        assert "sam mentioned you" in mails[0].subject and "margin please" in mails[0].body
        assert f"/deals/{iid}\n" in mails[0].body, "the mail links to the deal"

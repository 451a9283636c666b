"""Signing in and out."""
import pytest
from sqlalchemy import select

from engine.store.models import AuditEvent
from engine.services.users import set_password

from .conftest import PASSWORD, text


@pytest.fixture
def fiona(sg, app):
    set_password(sg, "fiona", PASSWORD, "cli:test")
    return "fiona"


def test_sign_in_lands_on_the_inbox_with_name_and_roles(browser, fiona):
    page = browser.get("/login")
    assert page.status_code == 200
    assert 'name="username"' in page.text and 'name="password"' in page.text
    r = browser.login(fiona)
    assert r.status_code == 302 and r.location == "/"
    inbox = text(browser.get("/"))
    assert "fiona" in inbox and "Finance" in inbox and "Sign out" in inbox


def test_wrong_password_says_so_and_keeps_the_user_signed_out(browser, fiona, sg):
    r = browser.login(fiona, password="not the password")
    assert r.status_code == 401
    assert "wrong user name or password" in text(r)
    assert 'value="fiona"' in r.text, "the user name is kept in the form"
    assert browser.get("/").status_code == 302
    assert "sign_in_failed" in audit_kinds(sg), "the failure is audited"


def test_unknown_user_gets_the_same_message(browser, app):
    r = browser.login("nobody", password="whatever123")
    assert r.status_code == 401 and "wrong user name or password" in text(r)


def test_repeated_wrong_passwords_are_throttled_with_the_engines_message(browser, fiona):
    for _ in range(3):
        assert "wrong user name or password" in text(browser.login(fiona, password="nope-nope"))
    r = browser.login(fiona, password="nope-nope")
    assert r.status_code == 401
    assert "too many wrong passwords; try again in" in text(r)
    # Even the right password has to wait: the clock has not moved.
    r = browser.login(fiona)
    assert "too many wrong passwords" in text(r)
    assert browser.get("/").status_code == 302


def test_sign_in_goes_to_the_local_page_asked_for(browser, fiona):
    r = browser.get("/deals")
    assert r.status_code == 302 and r.location.startswith("/login?next=")
    login_page = browser.get(r.location)
    assert 'name="next" value="/deals"' in login_page.text
    r = browser.login(fiona, next="/deals")
    assert r.location == "/deals"


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/x", "/\\evil.example", "javascript:alert(1)"])
def test_sign_in_ignores_a_next_that_leaves_the_site(browser, fiona, target):
    r = browser.login(fiona, next=target)
    assert r.status_code == 302 and r.location == "/"


def test_sign_out_ends_the_session(sign_in):
    b = sign_in("sam")
    assert b.get("/").status_code == 200
    r = b.post("/logout")
    assert r.status_code == 302 and r.location == "/login"
    assert "You are signed out" in text(b.get("/login"))
    r = b.get("/")
    assert r.status_code == 302 and r.location.startswith("/login")


def test_sign_out_is_a_post_only(sign_in):
    b = sign_in("sam")
    assert b.get("/logout").status_code == 405
    assert b.get("/").status_code == 200


def test_sign_in_without_the_form_token_is_refused(browser, fiona):
    r = browser.post("/login", {"username": fiona, "password": PASSWORD}, token=False)
    assert r.status_code == 400
    assert "security token" in text(r)
    assert browser.get("/").status_code == 302


def test_a_signed_in_user_visiting_login_goes_to_the_inbox(sign_in):
    b = sign_in("sam")
    r = b.get("/login")
    assert r.status_code == 302 and r.location == "/"


def audit_kinds(sg) -> list[str]:
    with sg.uow(write=False) as uow:
        return list(uow.session.execute(select(AuditEvent.kind)).scalars())

"""Sessions end when they should: signing out, a new password, a role change and deactivation end
every session of the user, a copied cookie with them, and a token made with a stolen session does
not outlive the password change that locks the thief out."""
import os
import re
import subprocess
import sys

from engine.queries import records as queries
from engine.services.tokens import create_token, list_tokens
from engine.services.users import add_user, deactivate_user, reactivate_user, remove_roles, set_password
from tests.conftest import ROOT
from tests.drive import GOOD_PROSPECT

from .conftest import PASSWORD, Browser, text

NEW_PASSWORD = "a much better passphrase"


def _copy_of(app, browser) -> Browser:
    """Another client sending the same session cookie (what a thief who copied it would send)."""
    thief = Browser(app.test_client())
    thief.stolen = browser.client.get_cookie("session").value
    thief.client.set_cookie("session", thief.stolen)
    return thief


def _replay(thief) -> Browser:
    """The thief sends the copied cookie again, whatever the server set since."""
    thief.client.set_cookie("session", thief.stolen)
    return thief


def _signed_out(browser) -> bool:
    r = browser.get("/")
    return r.status_code == 302 and r.location.startswith("/login")


def _api(app, token, path="/api/v1/tasks"):
    return app.test_client().get(path, headers={"Authorization": f"Bearer {token}"})


def test_a_copied_cookie_dies_with_the_sign_out_and_cannot_make_a_token(app, sign_in, sg):
    """The issue's scenario: a cookie copied before sign-out no longer works after it, and cannot make a token."""
    fiona = sign_in("fiona")
    fiona.get("/account/tokens")  # a page with a form: the session now holds its CSRF secret
    thief = _copy_of(app, fiona)
    assert thief.get("/").status_code == 200, "the copy works while the session lives"
    csrf = thief.token("/account/tokens")
    fiona.post("/logout")
    r = _replay(thief).get("/")
    assert r.status_code == 302 and r.location.startswith("/login?next=")
    assert "Your session has ended" in text(thief.get("/login"))
    r = _replay(thief).client.post("/account/tokens", data={"csrf_token": csrf, "name": "thief's token"})
    assert r.status_code == 302 and r.location.startswith("/login")
    assert list_tokens(sg, "fiona", "fiona") == [], "no token was made with the dead session"
    assert _signed_out(_replay(thief)), "and it stays signed out"


def test_a_token_made_with_a_stolen_session_dies_with_the_password_change(app, sign_in, sg):
    fiona = sign_in("fiona")
    thief = _copy_of(app, fiona)
    made = thief.post("/account/tokens", {"name": "thief's token"}, page="/account/tokens")
    assert made.status_code == 201
    token = re.search(r'data-testid="new-token">(sgt_[^<]+)<', made.get_data(as_text=True)).group(1)
    assert _api(app, token).status_code == 200
    fiona.post("/logout")
    assert _api(app, token).status_code == 200, "signing out leaves the user's tokens alone"
    result = set_password(sg, "fiona", NEW_PASSWORD, "fiona")
    assert len(result["revoked_tokens"]) == 1
    assert _api(app, token).status_code == 401, "the thief's token died with the new password"
    assert _signed_out(_replay(thief))


def test_an_operators_token_outlives_a_password_change_but_not_a_deactivation(app, sign_in, sg):
    sign_in("fiona")
    crm = create_token(sg, "fiona", "cli:admin", "CRM webhook")["token"]
    own = create_token(sg, "fiona", "fiona", "my script")["token"]
    set_password(sg, "fiona", NEW_PASSWORD, "cli:admin")
    assert _api(app, crm).status_code == 200 and _api(app, own).status_code == 401
    r = deactivate_user(sg, "fiona", "cli:admin")
    assert len(r["revoked_tokens"]) == 1 and _api(app, crm).status_code == 401
    reactivate_user(sg, "fiona", "cli:admin")
    assert _api(app, crm).status_code == 401, "reactivating does not bring the tokens back"
    assert [t["active"] for t in list_tokens(sg, "fiona", "cli:admin")] == [False, False]


def test_signing_out_ends_the_users_sessions_on_every_device(sign_in):
    laptop, phone = sign_in("sam"), sign_in("sam")
    assert phone.get("/").status_code == 200
    laptop.post("/logout")
    assert _signed_out(phone) and _signed_out(laptop)
    again = sign_in("sam")
    assert again.get("/").status_code == 200, "a new sign-in works"


def test_stagegate_user_passwd_ends_every_session(sign_in, database_url, browser):
    fiona = sign_in("fiona")
    env = {**os.environ, "STAGEGATE_DATABASE_URL": database_url}
    p = subprocess.run([sys.executable, "-m", "stagegate.cli", "user", "passwd", "fiona", "--password", NEW_PASSWORD],
                       cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert p.returncode == 0 and p.stdout.startswith("password set for fiona; sessions ended"), p.stderr
    assert _signed_out(fiona)
    assert "wrong user name or password" in text(browser.login("fiona", PASSWORD))
    assert browser.login("fiona", NEW_PASSWORD).status_code == 302


def test_a_role_change_signs_the_user_in_again_with_the_new_roles(sign_in, sg):
    fiona = sign_in("fiona")
    add_user(sg, "fiona", ["Quality"], "cli:admin")
    assert _signed_out(fiona)
    fiona = sign_in("fiona")
    assert "Quality" in text(fiona.get("/"))
    remove_roles(sg, "fiona", ["Quality"], "cli:admin")
    assert _signed_out(fiona)
    assert "Quality" not in text(sign_in("fiona").get("/"))


def test_deactivation_signs_the_user_out_and_keeps_them_out(sign_in, sg, browser):
    fiona = sign_in("fiona")
    deactivate_user(sg, "fiona", "cli:admin")
    assert _signed_out(fiona)
    r = browser.login("fiona")
    assert r.status_code == 401 and "wrong user name or password" in text(r)
    reactivate_user(sg, "fiona", "cli:admin")
    assert browser.login("fiona").status_code == 302


def test_the_apis_act_as_the_token_whatever_cookie_comes_along_and_set_none(app, sign_in, api, sg):
    """A browser signed in as an auditor calls the APIs with other users' tokens: the calls are theirs
    (the cookie is not read), no response sets or varies on a cookie, and the browser stays signed in."""
    ada = sign_in("ada")
    token = api("sam").token
    r = ada.client.post("/api/v1/instances", json={"process_id": "opportunity", "data": GOOD_PROSPECT},
                        headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 201, r.get_json()
    assert queries.instance(sg, r.get_json()["id"])["started_by"] == "sam"
    assert "Set-Cookie" not in r.headers and "Cookie" not in r.headers.get("Vary", "")
    add_user(sg, "erp", ["Integration"], "cli:test")
    fetch = {"workerId": "w", "maxTasks": 1, "topics": [{"topicName": "erp-pricing", "lockDuration": 1000}]}
    r = ada.client.post("/engine-rest/external-task/fetchAndLock", json=fetch,
                        headers={"Authorization": f"Bearer {api('erp').token}"})
    assert r.status_code == 200 and "Set-Cookie" not in r.headers
    r = ada.client.post("/engine-rest/external-task/fetchAndLock", json=fetch)
    assert r.status_code == 401, "the cookie alone signs no one in there"
    assert ada.get("/audit").status_code == 200, "the browser's own session was left as it was"

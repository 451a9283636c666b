"""The web app on the test database (SQLite and PostgreSQL), and a browser-like client.

The client keeps CSRF protection on: every POST carries the token read from a page's form,
as a browser would send it.
"""
from __future__ import annotations

import re
from html import unescape

import pytest

from engine.services.tokens import create_token
from engine.services.users import set_password
from tests.drive import Driver
from web import create_app

PASSWORD = "correct horse battery"
TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


class Browser:
    """A Flask test client that signs in and submits forms the way a user does."""

    def __init__(self, client):
        self.client = client

    def get(self, path, **kwargs):
        return self.client.get(path, **kwargs)

    def token(self, page="/"):
        """The CSRF token from the form on `page`."""
        html = self.client.get(page).get_data(as_text=True)
        found = TOKEN.search(html)
        assert found, f"no csrf_token in the form of {page}"
        return unescape(found.group(1))

    def post(self, path, data=None, page=None, token=True, **kwargs):
        """POST as the form on `page` (default: `path`, else the inbox) would, token included."""
        data = dict(data or {})
        if token:
            data["csrf_token"] = self.token(page or "/")
        return self.client.post(path, data=data, **kwargs)

    def login(self, name, password=PASSWORD, next=None):
        data = {"username": name, "password": password}
        if next is not None:
            data["next"] = next
        return self.post("/login", data, page="/login")


@pytest.fixture
def app(sg, catalog):
    """The app around the test's Stagegate (frozen clock), with the catalog and staff."""
    return create_app({"STAGEGATE": sg, "TESTING": True, "SECRET_KEY": "test-secret",
                       "WTF_CSRF_ENABLED": True})


@pytest.fixture
def browser(app):
    """A signed-out browser."""
    return Browser(app.test_client())


@pytest.fixture
def sign_in(app, sg):
    """Factory: a browser signed in as `name` (its password set on first use)."""
    passwords_set = set()

    def make(name):
        if name not in passwords_set:
            set_password(sg, name, PASSWORD, "cli:test")
            passwords_set.add(name)
        b = Browser(app.test_client())
        r = b.login(name)
        assert r.status_code == 302, r.get_data(as_text=True)
        return b
    return make


@pytest.fixture
def api(app, sg):
    """Factory: a client that sends `name`'s new API token with every request."""
    def make(name):
        token = create_token(sg, name, name, "test CRM")["token"]
        client = app.test_client()

        def call(method, path, json=None, headers=None, **kwargs):
            all_headers = {"Authorization": f"Bearer {token}", **(headers or {})}
            return client.open(path, method=method, json=json, headers=all_headers, **kwargs)
        call.token = token
        return call
    return make


@pytest.fixture
def driver(make_sg, sg, catalog):
    """Moves deals forward through the services, on the app's database and clock."""
    return Driver(make_sg, clock=sg.clock)


def text(response) -> str:
    """The page as text with tags dropped and whitespace squeezed: what a reader sees."""
    html = response.get_data(as_text=True)
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S)
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split())

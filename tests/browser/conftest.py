"""Browser journeys: the real web app on a fresh SQLite file, driven by Debian's Chromium
through Playwright's sync API.

Needs /usr/bin/chromium (`.ci/run` installs Debian's `chromium`; Playwright's own browser
downloads are never used) and the npm dependencies in node_modules/ (`make assets`). The
whole directory is skipped, with the reason shown, only when /usr/bin/chromium is absent.
Screenshots go to <repo>/test-artifacts/.
"""
from __future__ import annotations

import contextlib
import os
import threading
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = os.environ.get("STAGEGATE_CHROMIUM", "/usr/bin/chromium")
VIEWER_BUNDLE = ROOT / "node_modules" / "bpmn-js" / "dist" / "bpmn-navigated-viewer.production.min.js"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
TIMEOUT_MS = 10_000


def pytest_collection_modifyitems(config, items):
    if Path(CHROMIUM).exists():
        return
    skip = pytest.mark.skip(
        reason=f"browser tests need Chromium at {CHROMIUM} (apt-get install chromium; .ci/run does it)")
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(skip)


class ServerThread:
    """A WSGI app on 127.0.0.1 at a free port, served from a daemon thread."""

    def __init__(self, app):
        from werkzeug.serving import make_server

        self.server = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, name="browser-test-server", daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.thread.join(timeout=10)
        self.server.server_close()


@pytest.fixture(scope="session")
def assets_installed():
    if not VIEWER_BUNDLE.exists():
        pytest.fail(f"{VIEWER_BUNDLE.relative_to(ROOT)} is missing: run `make assets` (npm ci) first", pytrace=False)


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


@pytest.fixture(scope="session")
def browser(assets_installed):
    from playwright.sync_api import sync_playwright

    pw = sync_playwright().start()
    try:
        b = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
    except Exception:
        pw.stop()
        raise
    yield b
    b.close()
    pw.stop()


@pytest.fixture
def new_page(browser):
    """Factory: a page in a browser context of its own (its own cookies), closed afterwards.
    Console errors and page errors are collected on page.errors."""
    contexts = []

    def make(base_url: str | None = None):
        ctx = browser.new_context(base_url=base_url, viewport={"width": 1280, "height": 900})
        ctx.set_default_timeout(TIMEOUT_MS)
        contexts.append(ctx)
        page = ctx.new_page()
        page.errors = []
        page.on("pageerror", lambda exc: page.errors.append(f"pageerror: {exc}"))
        page.on("console", lambda msg: page.errors.append(f"console: {msg.text}") if msg.type == "error" else None)
        page.on("response", lambda r: page.errors.append(f"HTTP {r.status}: {r.url}") if r.status >= 400 else None)
        return page

    yield make
    for ctx in contexts:
        ctx.close()


PASSWORD = "correct horse 42"


@contextlib.contextmanager
def serve_catalog(db: Path, clock=None):
    """The real web app on a fresh SQLite file at `db`: the shipped catalog deployed and the
    standard staff (tests/conftest.py STAFF), each with the password PASSWORD; no demo data.
    Yields an object with .url (the server) and .sg (the same Stagegate the app uses); `clock`
    (e.g. a FrozenClock) is the app's time."""
    from stagegate.compose import bootstrap
    from engine.services.deployment import collect_files, deploy
    from engine.services.users import add_user
    from tests.conftest import DIAGRAMS, STAFF
    from web import create_app

    sg = bootstrap(f"sqlite:///{db}", clock=clock, migrate=True)
    deploy(sg, collect_files([DIAGRAMS]), actor="cli:test")
    for name, roles in STAFF.items():
        add_user(sg, name, roles, "cli:test", password=PASSWORD)
    app = create_app({
        "STAGEGATE": sg,
        "DATABASE_URL": f"sqlite:///{db}",
        "SECRET_KEY": "browser-tests-only",
        "SESSION_COOKIE_SECURE": False,  # plain http on 127.0.0.1
    })
    with ServerThread(app) as server:
        server.sg = sg
        yield server
    sg.dispose()


@pytest.fixture(scope="session")
def live_app(tmp_path_factory, assets_installed):
    """The app on the shipped catalog (serve_catalog), shared by the staff journeys."""
    with serve_catalog(tmp_path_factory.mktemp("web") / "stagegate.db") as server:
        yield server


def signed_in(page, name: str):
    """`page` after signing in as `name` (password PASSWORD) through the login form."""
    page.goto("/login")
    page.fill("input[name=username]", name)
    page.fill("input[name=password]", PASSWORD)
    with page.expect_navigation():
        page.locator("form").filter(has=page.locator("input[name=password]")).locator(
            "button[type=submit], input[type=submit]").first.click()
    assert "/login" not in page.url, f"{name} could not sign in: {page.inner_text('body')[:500]}"
    page.user = name
    return page


@pytest.fixture
def sign_in(new_page, live_app):
    """Factory: a page signed in as `name`, in a browser context of its own, on the inbox."""
    def make(name: str):
        return signed_in(new_page(live_app.url), name)
    return make

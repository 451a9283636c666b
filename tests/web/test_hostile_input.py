"""No value in a URL, a query string, a form or a JSON body makes any route answer 500.

Every route of the app (pages, designer, audit, metrics, API) is called with hostile values in
each path parameter, in each query parameter and form field the route reads (found by recording
what it reads when called plainly, so a parameter added later is swept too) and, for POST routes,
in JSON bodies. Each answer must be below 500; the test lists every one that is not.
"""
from __future__ import annotations

import io
import json
import re

from werkzeug.datastructures import ImmutableMultiDict

from engine.services.attachments import upload
from engine.services.comments import add_comment, notifications
from engine.services.tokens import create_token
from engine.services.users import add_user
from engine.services.webhooks import create_subscription

# Raw URL text (percent-encoded where a browser would): too big for a column, not ASCII digits,
# past the last date, NUL, invalid UTF-8 (a lone surrogate's bytes), a line break, too long.
HOSTILE = ["99999999999999999999", "-1", "0", "%C2%B2", "9999-12-31", "0001-01-01", "%00", "%ED%A0%80",
           "a%0D%0Ab", "x" * 300, "1e400", "%20", "%FF"]
HOSTILE_JSON = ["[" * 1000 + "]" * 1000, '{"a": ' * 1000 + "1" + "}" * 1000, "NaN", "[1e400]", '{"a": 1', "9" * 5000,
                '"\\ud800"']
HOSTILE_FIELDS = [99999999999999999999, -1, "\ud800", "\x00", "9999-12-31", "x" * 20_000, 1e308, None, [], {}]
# Signing out would end the sweep's session.
SKIP = {"auth.logout"}
ALL_BUT_AUDITOR = ["Sales", "Sales Leadership", "Finance", "Finance Head", "Supply", "Quality", "Legal",
                   "Process Designer", "Administrator"]


class _Reads(ImmutableMultiDict):
    """Query and form values that note which names a route reads."""

    seen: set = set()

    def __getitem__(self, key):
        _Reads.seen.add(key)
        return super().__getitem__(key)

    def get(self, key, default=None, type=None):
        _Reads.seen.add(key)
        return super().get(key, default, type)

    def getlist(self, key, type=None):
        _Reads.seen.add(key)
        return super().getlist(key, type)

    def __contains__(self, key):
        _Reads.seen.add(key)
        return super().__contains__(key)


class Sweep:
    """Calls as one signed-in browser, noting every answer of 500 or more and every crash."""

    def __init__(self):
        self.failures, self.calls = [], 0
        self.browser, self.user, self.headers = None, None, {}

    def call(self, method, url, **kwargs):
        _Reads.seen = set()
        self.calls += 1
        try:
            r = self.browser.client.open(url, method=method, headers=self.headers, **kwargs)
            r.get_data()  # a streamed body fails while it is read
        except Exception as exc:  # noqa: BLE001 - the test reports every crash, not just the first
            self.failures.append(f"{self.user}: {method} {url[:160]} raised {type(exc).__name__}: {str(exc)[:160]}")
            return set()
        if r.status_code >= 500:
            self.failures.append(f"{self.user}: {method} {url[:160]} answered {r.status_code}")
        return set(_Reads.seen)


def _routes(app):
    for rule in app.url_map.iter_rules():
        if rule.endpoint in SKIP:
            continue
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            yield rule, method


def _fill(rule, values: dict) -> str:
    return re.sub(r"<(?:[^:>]+:)?(\w+)>", lambda m: str(values[m.group(1)]), rule.rule)


def mention(sg, iid) -> int:
    """The id of root's notification of a comment that mentions them."""
    add_comment(sg, iid, "sam", "@root have a look")
    return notifications(sg, "root")[0]["id"]


def test_no_hostile_value_anywhere_gets_a_500(app, sg, sign_in, driver):
    app.request_class = type("Recording", (app.request_class,), {"parameter_storage_class": _Reads})
    add_user(sg, "root", ALL_BUT_AUDITOR, actor="cli:test")
    create_subscription(sg, "cli:test", "https://crm.example.com/hooks", ["gate.decided"])  # sub_id 1
    iid = driver.to_sign_offs()
    task_id = next(iter(driver.ready(iid).values()))["id"]
    sample = {"task_id": task_id, "instance_id": iid, "process_id": "opportunity", "version": 1,
              "decision_id": "qualification", "kind": "bpmn", "key": "opportunity", "filename": "app.css",
              "token_id": create_token(sg, "root", "root", "sweep")["id"], "job_id": 1, "sub_id": 1, "filter_id": 1,
              "attachment_id": upload(sg, app.extensions["stagegate_files"], iid, "sam", "brief.pdf",
                                      io.BytesIO(b"%PDF-1.4 brief"))["id"],
              "notification_id": mention(sg, iid)}
    bearer = {"Authorization": f"Bearer {create_token(sg, 'root', 'root', 'api')['token']}"}
    sweep = Sweep()
    for user in ("root", "ada"):
        sweep.browser, sweep.user = sign_in(user), user
        token = sweep.browser.token("/account/tokens")
        for rule, method in _routes(app):
            api = rule.endpoint.startswith("api.")
            sweep.headers = {**(bearer if api else {}), "X-CSRFToken": token}
            form = {} if api or method == "GET" else {"csrf_token": token}
            url = _fill(rule, sample)
            read = sweep.call(method, url, data=form)
            for name in read - {"csrf_token"}:
                for value in HOSTILE:
                    if method == "GET":
                        sweep.call(method, f"{url}?{name}={value}")
                    else:
                        sweep.call(method, f"{url}?{name}={value}", data=form)
                        sweep.call(method, url, data=f"csrf_token={token}&{name}={value}",
                                   content_type="application/x-www-form-urlencoded")
            for param in re.findall(r"<(?:[^:>]+:)?(\w+)>", rule.rule):
                for value in HOSTILE:
                    sweep.call(method, _fill(rule, {**sample, param: value}), data=form)
            if method == "POST":
                for body in HOSTILE_JSON:
                    sweep.call(method, url, data=body, content_type="application/json")
                for value in HOSTILE_FIELDS:
                    body = {"process_id": value, "data": {"deal_name": value, "customer": value, "x": value},
                            "xml": value, "kind": value, "comment": value, "base_version": value}
                    sweep.call(method, url, data=json.dumps(body), content_type="application/json")
    assert sweep.calls > 3000
    assert not sweep.failures, f"{len(sweep.failures)} of {sweep.calls} calls failed:\n" + "\n".join(sweep.failures)

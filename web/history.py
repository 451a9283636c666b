"""One line of plain language for each audit event of a deal."""
from __future__ import annotations


def _quote(text) -> str:
    return f"'{text}'" if text not in (None, "") else ""


def _gate(d: dict) -> str:
    name = f"{d['gate'].capitalize()} gate" if d.get("gate") else (d.get("element_name") or "gate")
    by = d.get("decided_by") or {}
    reason = d.get("reason")
    if by.get("kind") == "person":
        why = f"by {by.get('user')}" + (f": {_quote(reason)}" if reason not in (None, "") else "")
    elif by.get("kind") == "rule":
        rules = ", ".join(by.get("rules") or [])
        why = f"decision {by.get('decision')}" + (f", rule {rules}" if rules else "")
        if reason not in (None, ""):
            why += f": {_quote(reason)}"
    else:
        why = f"on {', '.join(by.get('keys') or [])}" if by.get("keys") else ""
    return f"{name}: {d.get('outcome')}" + (f" ({why})" if why else "")


def _decision(d: dict) -> str:
    rules = ", ".join(r.get("id") or f"row {r.get('row')}" for r in d.get("matched_rules") or [])
    return f"decision {d.get('decision')}: rule {rules}" if rules else f"decision {d.get('decision')}"


def _flows(d: dict) -> str:
    taken = [f.get("name") or f.get("target") or f.get("id") for f in d.get("flows_taken") or []]
    return f"{d.get('element_name') or 'gateway'}: {', '.join(taken) or 'passed'}"


def describe(event: dict) -> str:
    """What happened, e.g. "completed Prepare proposal" or "Discovery gate: go (by lena: 'clear pain')"."""
    d = event.get("details") or {}
    kind = event.get("kind")
    if kind == "instance_started":
        timer = d.get("timer")
        return f"started the deal (timer start event {timer.get('element_name') or timer.get('element_id')}: " \
               f"{timer.get('text')})" if isinstance(timer, dict) else "started the deal"
    if kind == "task_completed":
        return f"completed {d.get('task_name') or event.get('element_id')}"
    if kind == "gate_decided":
        return _gate(d)
    if kind == "decision_evaluated":
        return _decision(d)
    if kind == "gateway_passed":
        return _flows(d)
    if kind == "timer_fired":
        return "timer fired" + (f": {d['element_name']}" if d.get("element_name") else "")
    if kind == "message_correlated":
        return f"sent the message '{d.get('message')}'" + (f" (id {d['message_id']})" if d.get("message_id") else "")
    if kind == "message_received":
        return f"message '{d.get('message')}' received" + (f" at {d['element_name']}" if d.get("element_name") else "")
    if kind == "instance_ended":
        return "deal ended" + (f": {d['end_event']}" if d.get("end_event") else "")
    if kind == "incident":
        return f"incident at {d.get('element_name') or event.get('element_id')}: {d.get('message')}"
    if kind == "task_claimed":
        return f"claimed {d.get('task_name')}"
    if kind == "task_unclaimed":
        return f"released {d.get('task_name')}" + (f" (was {d['previous']}'s)" if d.get("previous") else "")
    if kind == "task_reassigned":
        return f"reassigned {d.get('task_name')} to {d.get('to')}"
    if kind == "task_cancelled":
        return _cancelled(d)
    if kind == "comment_added":
        body = d.get("body") or ""
        return "commented: \u201c" + (body if len(body) <= 160 else body[:159] + "\u2026") + "\u201d"
    if kind in ("attachment_uploaded", "attachment_downloaded"):
        return f"{'attached' if kind == 'attachment_uploaded' else 'downloaded'} {d.get('file_name')}"
    return _outside_deals(kind, d, event)


def _cancelled(d: dict) -> str:
    if d.get("reason") == "escalation_closed":
        return (f"closed {d.get('task_name')}: {d.get('escalates_name') or d.get('escalates')}, "
                f"which it escalated, was {d.get('escalated_task_state')}")
    return f"cancelled {d.get('task_name')} (the deal moved on without it)"


def _outside_deals(kind, d: dict, event: dict) -> str:
    """Events of the audit log that belong to no deal step: refusals, sign-ins, users, deployments."""
    if kind == "refused":
        return f"was refused: {d.get('action')}"
    if kind == "signed_in":
        return "signed in" + (f" from {d['source']}" if d.get("source") else "")
    if kind == "sign_in_failed":
        return f"failed to sign in as {d.get('user')}" + (f" from {d['source']}" if d.get("source") else "") + (
            f" ({d['reason']})" if d.get("reason") else "")
    if kind == "signed_out":
        return "signed out (every session)"
    if kind in ("user_created", "roles_granted", "roles_revoked"):
        verb = {"user_created": "created user", "roles_granted": "granted", "roles_revoked": "took from"}[kind]
        return f"{verb} {d.get('user')}" + (f" roles {', '.join(d.get('roles') or [])}" if d.get("roles") else "")
    if kind in ("password_set", "user_deactivated", "user_reactivated"):
        verb = {"password_set": "set the password of", "user_deactivated": "deactivated",
                "user_reactivated": "reactivated"}[kind]
        revoked = d.get("revoked_tokens") or []
        return f"{verb} {d.get('user')}" + (f", revoking API tokens {', '.join(map(str, revoked))}" if revoked else "")
    if kind == "audit_keyed":
        return f"put the audit chain under key {d.get('key_id')}"
    if kind == "deployed":
        return f"deployed {event.get('process_id')} v{event.get('version')}" + (
            f": {_quote(d['comment'])}" if d.get("comment") else "")
    if kind == "decision_deployed":
        return f"deployed decision {d.get('decision')} v{d.get('version')}"
    if kind == "service_task_run":
        return f"ran {d.get('element_name') or event.get('element_id')}"
    return (kind or "event").replace("_", " ")


def decider(details: dict) -> str:
    """Who or what decided a gate: a user, a decision table's rule, or the data."""
    by = (details or {}).get("decided_by") or {}
    if by.get("kind") == "person":
        return str(by.get("user"))
    if by.get("kind") == "rule":
        rules = ", ".join(by.get("rules") or [])
        return f"decision {by.get('decision')}" + (f" (rule {rules})" if rules else "")
    return "the data"

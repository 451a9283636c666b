"""A stand-in for the ERP that prices quotes: the worker of the opportunity's `erp-pricing` external task.

A real ERP would run Camunda's external-task client against /engine-rest; this one uses the same
external-task services in-process, so the demo and the tests need nothing outside the machine. It
looks up the list price for the deal and says how far the quoted price lies below it, for
Finance's pricing sign-off.
"""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from engine.services.external_steps import complete_external_task
from engine.services.external_tasks import fetch_and_lock
from engine.services.users import add_user
from engine.store.models import ExternalTask, User

TOPIC = "erp-pricing"
WORKER = "erp-stand-in"
USER = "erp"  # the ERP's account: it holds the Integration role and nothing else
LOCK = timedelta(minutes=5)

# The price list's uplift per industry (certified parts cost more); other industries list at the deal value.
INDUSTRY_UPLIFT_PCT = {"aerospace": 12, "medical": 10, "energy": 5}


def price(data: dict) -> dict:
    """The ERP's answer for a deal: its list price, and the quoted price's discount from it in money and %."""
    base = int(data.get("deal_value") or data.get("price") or 0)
    listed = -(-base * (100 + INDUSTRY_UPLIFT_PCT.get(data.get("industry"), 0)) // 100 // 1000) * 1000
    discount = max(listed - int(data.get("price") or listed), 0)
    return {"list_price": listed, "discount_amount": discount,
            "discount_pct": discount * 100 // listed if listed else 0}


def ensure_user(sg) -> str:
    """The ERP's user, added with the Integration role the first time it is needed."""
    with sg.uow(write=False) as uow:
        known = uow.session.execute(select(User.id).where(User.name == USER)).scalar()
    if known is None:
        add_user(sg, USER, ["Integration"], "cli:erp-stand-in")
    return USER


def serve_pending(sg, max_tasks: int = 100) -> int:
    """Price every waiting erp-pricing task once: fetch and lock, then complete with the ERP's answer.
    Returns how many were priced."""
    with sg.uow(write=False) as uow:
        waiting = uow.session.execute(select(ExternalTask.id).where(
            ExternalTask.topic == TOPIC, ExternalTask.state == "ready").limit(1)).scalar()
    if waiting is None:
        return 0  # nothing to price: no account is added, nothing is written
    user = ensure_user(sg)
    done = 0
    while found := fetch_and_lock(sg, user, WORKER, [{"topic": TOPIC, "lock": LOCK, "variables": None}], max_tasks):
        for task in found:
            complete_external_task(sg, user, task["row"]["id"], WORKER, price(task["variables"]))
            done += 1
    return done

"""Service-task handlers: what a `camunda:type="external" camunda:topic="..."` task runs.

A handler takes the deal's data (a copy) and returns the values to add to it. It must not
reach outside the process's data: side effects that matter belong in a user task, where
someone is accountable for them.
"""
from __future__ import annotations


def net_price(data: dict) -> dict:
    """List price less the discount, and the discount in money."""
    price, pct = int(data["list_price"]), int(data.get("discount_pct") or 0)
    discount = price * pct // 100
    return {"discount_amount": discount, "net_price": price - discount}


def deal_margin(data: dict) -> dict:
    """Gross margin in money from the quoted price and margin percentage."""
    price, pct = int(data["price"]), int(data["margin_pct"])
    return {"margin_amount": price * pct // 100}


HANDLERS = {
    "pricing.net_price": net_price,
    "pricing.margin_amount": deal_margin,
}
# The data fields each handler adds: deploy checks that decisions read only fields a process can have.
OUTPUTS = {
    "pricing.net_price": ("discount_amount", "net_price"),
    "pricing.margin_amount": ("margin_amount",),
}

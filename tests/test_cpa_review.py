"""Deals that cost more than a threshold to acquire get one Sales Leadership review each."""
from __future__ import annotations

import pytest

from engine.queries import records as queries
from workflows.cpa_review import flag_high_cpa
from engine.errors import FormInvalid, Refused
from tests.drive import Driver


def _close(drive, won: bool, cost: int) -> int:
    iid = drive.to_negotiation()
    drive.work(iid, "Task_Negotiate", "sam", **({"outcome": "won", "final_price": 400000} if won else
                                               {"outcome": "lost", "loss_reason": "price"}))
    drive.work(iid, "Task_LookBack", "lena", lessons_learned="engaged procurement too late", acquisition_cost=cost)
    return iid


def test_costly_deals_get_one_review_each_for_sales_leadership(make_sg, sg, catalog):
    drive = Driver(make_sg, clock=sg.clock)
    cheap, costly_won, costly_lost = _close(drive, True, 18000), _close(drive, True, 41000), _close(drive, False, 35000)
    first = flag_high_cpa(sg, "30000", "lena")
    assert [f["deal_id"] for f in first["flagged"]] == [costly_won, costly_lost]
    again = flag_high_cpa(sg, 30000, "lena")
    assert again["flagged"] == [] and again["already_reviewed"] == [costly_won, costly_lost]

    tasks = [t for t in queries.ready_tasks(sg) if t["element_id"] == "Task_ReviewCpa"]
    reviews = {queries.instance(sg, t["instance_id"])["data"]["deal_id"]: t for t in tasks}
    assert set(reviews) == {costly_won, costly_lost} and cheap not in reviews
    started = queries.history(sg, first["flagged"][0]["review_id"])[0]
    assert (started["kind"], started["actor"], started["details"]["data"]["acquisition_cost"]) == (
        "instance_started", "lena", 41000)
    done = drive.work(first["flagged"][0]["review_id"], "Task_ReviewCpa", "lena",
                      review_finding="three site visits abroad", review_action="coach")
    assert done["status"] == "completed"
    assert flag_high_cpa(sg, 30000, "lena")["flagged"] == []  # a finished review still counts


@pytest.mark.parametrize("user, threshold, error, message", [
    ("fiona", 30000, Refused, "fiona may not start 'cpa_review'"),
    ("lena", "lots", FormInvalid, "threshold: 'lots' is not a whole number"),
    ("lena", -1, FormInvalid, "threshold: cannot be negative"),
])
def test_refusals(sg, catalog, user, threshold, error, message):
    with pytest.raises(error, match=message):
        flag_high_cpa(sg, threshold, user)

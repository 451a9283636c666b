"""The inbox's views, search, sorts and saved filters; a department head's bulk claim, release and
reassign; no reassignee chosen for anyone."""
import re
from html import unescape

import pytest
from sqlalchemy import select

from engine.queries import records as queries
from engine.queries.saved_filters import saved_filters
from engine.readonly import ReadOnlyRefused
from engine.services.claims import act_on_tasks
from engine.services.deployment import deploy
from engine.services.instances import start_instance
from engine.services.saved_filters import save_filter
from engine.services.users import add_user
from engine.store.models import AuditEvent
from tests.conftest import DIAGRAMS
from tests.drive import GOOD_PROSPECT, PRICING_OK, PROPOSAL
from tests.snapshot import stored

from .conftest import text
from .test_inbox import task_names


def deals_shown(response) -> list[str]:
    """Deal names in table order."""
    return re.findall(r'<td data-label="Deal"><a href="/deals/\d+">([^<]+)</a>', response.get_data(as_text=True))


def flashes(response) -> list[str]:
    return [" ".join(unescape(m).split()) for m in re.findall(r'<p class="flash[^"]*" role="status">([^<]*)</p>',
                                                    response.get_data(as_text=True))]


def audit_kinds(sg, actor: str) -> list[str]:
    """The kinds of the saved-filter audit events `actor` caused, in order."""
    with sg.uow(write=False) as uow:
        return list(uow.session.execute(select(AuditEvent.kind).where(
            AuditEvent.actor == actor, AuditEvent.kind.like("inbox_filter%")).order_by(AuditEvent.seq)).scalars())


@pytest.fixture
def desk(sg, driver):
    """Acme pumps (500,000) at its sign-offs; an hour later Borealis seals (900,000) at its sign-offs
    and Corner kiosk (20,000) waiting for its proposal. Frank is a second Finance person, fred a
    Finance Head who also works Finance."""
    add_user(sg, "frank", ["Finance"], "cli:test")
    add_user(sg, "fred", ["Finance", "Finance Head"], "cli:test")
    acme = driver.to_sign_offs()
    sg.clock.advance(hours=1)
    borealis = driver.to_proposal(deal_name="Borealis seals", customer="Borealis Aero", deal_value=900000)
    driver.work(borealis, "Task_PrepareProposal", "sam", **PROPOSAL)
    corner = driver.to_proposal(deal_name="Corner kiosk", customer="Corner Shop Ltd", deal_value=20000)
    pricing = {d: driver.ready(d)["Task_SignOffPricing"]["id"] for d in (acme, borealis)}
    return {"acme": acme, "borealis": borealis, "corner": corner, "pricing": pricing}


def test_my_tasks_and_unclaimed_split_the_open_work(sign_in, desk):
    fiona = sign_in("fiona")
    fiona.post(f"/tasks/{desk['pricing'][desk['acme']]}/claim")
    mine = fiona.get("/?view=mine")
    assert deals_shown(mine) == ["Acme pumps"] and task_names(mine) == ["Sign off pricing and margin"]
    assert 'aria-current="page">My tasks' in mine.get_data(as_text=True)
    unclaimed = fiona.get("/?view=unclaimed")
    assert deals_shown(unclaimed) == ["Borealis seals"]
    assert "No open tasks claimed by you" in text(sign_in("frank").get("/?view=mine"))


def test_my_department_is_for_heads(sign_in, desk):
    carl = sign_in("carl")  # Finance Head, holds no Finance role
    dept = carl.get("/?view=department")
    assert sorted(deals_shown(dept)) == ["Acme pumps", "Borealis seals"]
    assert set(task_names(dept)) == {"Sign off pricing and margin"}
    sam = sign_in("sam")
    assert "My department" not in text(sam.get("/")), "no department view for someone who heads none"
    assert "You head no department" in text(sam.get("/?view=department"))


def test_done_by_me_lists_what_i_completed(sign_in, desk, driver):
    driver.work(desk["borealis"], "Task_SignOffPricing", "fiona", **PRICING_OK)
    fiona = sign_in("fiona")
    done = fiona.get("/?view=done")
    assert deals_shown(done) == ["Borealis seals"] and task_names(done) == ["Sign off pricing and margin"]
    assert 'action="/tasks/' not in done.get_data(as_text=True).split("<tbody>")[1], "no claim or reassign on done work"
    assert deals_shown(fiona.get("/?view=unclaimed")) == ["Acme pumps"]
    assert "You have completed no tasks yet" in text(sign_in("frank").get("/?view=done"))


def test_search_by_deal_number_name_customer_or_task(sign_in, desk):
    fred = sign_in("fred")  # Finance and its head: sees both sign-offs
    assert deals_shown(fred.get("/?q=borealis aero")) == ["Borealis seals"], "by customer"
    assert deals_shown(fred.get("/?q=PUMPS")) == ["Acme pumps"], "by deal name, any case"
    assert deals_shown(fred.get(f"/?q=%23{desk['borealis']}")) == ["Borealis seals"], "by deal number"
    sam = sign_in("sam")
    assert task_names(sam.get("/?q=proposal")) == ["Prepare proposal"], "by task name"
    assert "No open tasks match these filters" in text(sam.get("/?q=nothing-like-this"))
    long = sam.get("/?q=" + "x" * 5000)
    assert long.status_code == 400 and "query parameter q" in text(long), "a clear refusal, not a traceback"


def test_search_by_business_key(sg, sign_in, desk, driver):
    start_instance(sg, "opportunity", "sam", {**GOOD_PROSPECT, "deal_name": "Keyed deal"}, business_key="CRM-77")
    assert deals_shown(sign_in("sam").get("/?q=crm-77")) == ["Keyed deal"]


def test_sort_by_value_age_and_due(sign_in, desk):
    fred = sign_in("fred")
    assert deals_shown(fred.get("/?sort=value")) == ["Borealis seals", "Acme pumps"], "largest deal first"
    assert deals_shown(fred.get("/?sort=age")) == ["Acme pumps", "Borealis seals"], "oldest first"
    sam = sign_in("sam")
    assert deals_shown(sam.get("/?view=unclaimed&sort=value")) == ["Corner kiosk"]
    assert 'aria-current="true">deal value' in fred.get("/?sort=value").get_data(as_text=True)


def test_sort_by_priority_follows_the_diagrams_camunda_priority(sg, sign_in, desk, driver):
    urgent = (DIAGRAMS / "discount_approval.bpmn").read_bytes().replace(
        b'<bpmn:userTask id="Task_FinanceApproval" name="Approve large discount">',
        b'<bpmn:userTask id="Task_FinanceApproval" name="Approve large discount" camunda:priority="90">')
    deploy(sg, [("discount_approval.bpmn", urgent)], actor="cli:test")
    driver.start(process_id="discount_approval", deal_name="Acme discount", list_price=100000, discount_pct=25,
                 justification="multi-year volume commitment")
    fiona = sign_in("fiona")
    assert task_names(fiona.get("/?sort=due"))[-1] == "Approve large discount", "it has no due date"
    assert task_names(fiona.get("/?sort=priority"))[0] == "Approve large discount"


def test_processes_go_by_their_names(sign_in, desk):
    html = sign_in("fiona").get("/").get_data(as_text=True)
    assert ">Opportunity <span class=\"count\">" in html and ">opportunity <" not in html
    assert '<span class="muted small">Opportunity</span>' in html, "each task says its process by name"


def test_a_saved_filter_is_listed_used_and_deleted(sg, sign_in, desk):
    fiona = sign_in("fiona")
    r = fiona.post("/inbox/filters", {"name": "  Borealis   open ", "view": "unclaimed", "q": "borealis"})
    assert r.status_code == 302 and r.location == "/?view=unclaimed&q=borealis"
    page = fiona.get("/")
    assert 'href="/?view=unclaimed&amp;q=borealis">Borealis open</a>' in page.get_data(as_text=True)
    assert deals_shown(fiona.get("/?view=unclaimed&q=borealis")) == ["Borealis seals"]
    assert "Borealis open" not in text(sign_in("frank").get("/")), "saved filters are each person's own"
    [saved] = re.findall(r'action="/inbox/filters/(\d+)/delete"', page.get_data(as_text=True))
    assert sign_in("frank").post(f"/inbox/filters/{saved}/delete").status_code == 404, "not frank's to delete"
    r = fiona.post(f"/inbox/filters/{saved}/delete")
    assert r.status_code == 302
    after = fiona.get("/")
    assert "Deleted the saved filter \u201cBorealis open\u201d." in flashes(after)
    assert "Saved filters" not in text(after)
    assert audit_kinds(sg, "fiona") == ["inbox_filter_saved", "inbox_filter_deleted"]


def test_a_filter_without_a_name_or_a_token_is_not_saved(sg, sign_in, desk):
    fiona = sign_in("fiona")
    before = stored(sg)
    r = fiona.post("/inbox/filters", {"name": "   ", "view": "mine"})
    assert r.status_code == 302
    assert any("The filter was not saved: its name is required" in f for f in flashes(fiona.get(r.location)))
    assert fiona.post("/inbox/filters", {"name": "x", "view": "mine"}, token=False).status_code == 400
    assert fiona.post("/inbox/filters", {"name": "y" * 81}).status_code == 302
    r = fiona.post("/inbox/filters", {"name": "nul\x00name", "view": "mine"})  # PostgreSQL cannot store a NUL
    assert any("its name holds a NUL character" in f for f in flashes(fiona.get(r.location)))
    r = fiona.post("/inbox/filters", {"name": "fine", "q": "bad\x00search"})
    assert any("holds a character no database can store" in f for f in flashes(fiona.get(r.location)))
    assert stored(sg) == before and saved_filters(sg, "fiona") == []


def test_a_head_reassigns_several_tasks_at_once(sg, sign_in, desk):
    carl = sign_in("carl")
    page = carl.get("/?view=department").get_data(as_text=True)
    assert page.count('name="task_ids"') == 2 and 'action="/inbox/bulk"' in page
    ids = list(desk["pricing"].values())
    r = carl.post("/inbox/bulk", {"action": "reassign", "to_user": "frank", "task_ids": ids, "next": "/?view=department"})
    assert r.status_code == 302 and r.location == "/?view=department"
    assert {queries.task(sg, t)["claimed_by"] for t in ids} == {"frank"}
    assert "Reassigned to frank: Sign off pricing and margin on Acme pumps and Sign off pricing and margin on " \
        "Borealis seals (2 tasks)." in flashes(carl.get("/"))
    r = carl.post("/inbox/bulk", {"action": "release", "task_ids": ids})
    assert {queries.task(sg, t)["claimed_by"] for t in ids} == {None}
    trail = [e for e in queries.history(sg, desk["acme"]) if e["kind"] in ("task_reassigned", "task_unclaimed")]
    assert [e["kind"] for e in trail] == ["task_reassigned", "task_unclaimed"], "each task audited on its own"


def test_bulk_claim_reports_a_task_that_changed_meanwhile_and_does_the_rest(sg, sign_in, desk):
    fred = sign_in("fred")  # Finance Head who also works Finance
    page = fred.get("/").get_data(as_text=True)
    assert 'name="task_ids"' in page
    sign_in("fiona").post(f"/tasks/{desk['pricing'][desk['acme']]}/claim")  # meanwhile
    r = fred.post("/inbox/bulk", {"action": "claim", "task_ids": list(desk["pricing"].values())})
    assert r.status_code == 302
    said = flashes(fred.get("/"))
    assert "Claimed: Sign off pricing and margin on Borealis seals (1 task)." in said
    assert any(f.startswith("Not claimed: Sign off pricing and margin on Acme pumps: 'Sign off pricing and margin' "
                            "is already claimed by fiona") for f in said), said
    assert queries.task(sg, desk["pricing"][desk["borealis"]])["claimed_by"] == "fred"
    assert queries.task(sg, desk["pricing"][desk["acme"]])["claimed_by"] == "fiona"


def test_bulk_is_refused_to_someone_who_heads_no_department(sg, sign_in, desk):
    fiona = sign_in("fiona")
    assert 'name="task_ids"' not in fiona.get("/").get_data(as_text=True), "no ticks for her"
    before = stored(sg)
    r = fiona.post("/inbox/bulk", {"action": "claim", "task_ids": list(desk["pricing"].values())})
    assert r.status_code == 403 and "that is for department heads" in text(r)
    assert stored(sg) == before


def test_no_reassignee_is_preselected_and_a_blank_one_is_refused(sg, sign_in, desk):
    sign_in("fiona").post(f"/tasks/{desk['pricing'][desk['acme']]}/claim")
    carl = sign_in("carl")
    for page in ("/", f"/tasks/{desk['pricing'][desk['acme']]}", f"/deals/{desk['acme']}"):
        html = carl.get(page).get_data(as_text=True)
        selects = re.findall(r'<select id="(?:to-[^"]+|bulk-to)" name="to_user">(.*?)</select>', html, re.S)
        assert selects, page
        for options in selects:
            assert re.match(r'\s*(\{#.*?#\}\s*)?<option value="" selected>choose a person</option>', options), page
            assert options.count("selected") == 1, f"{page}: only the blank choice is selected"
    before = stored(sg)
    task = desk["pricing"][desk["acme"]]
    r = carl.post(f"/tasks/{task}/reassign", {"to_user": "", "next": f"/tasks/{task}"})
    assert r.status_code == 302
    assert "Choose a person to reassign the task to; nothing was changed." in flashes(carl.get(r.location))
    r = carl.post("/inbox/bulk", {"action": "reassign", "to_user": " ", "task_ids": [task]})
    assert "Choose a person to reassign the tasks to; nothing was changed." in flashes(carl.get("/"))
    assert stored(sg) == before and queries.task(sg, task)["claimed_by"] == "fiona"


def test_an_auditor_saves_no_filter_and_bulk_acts_on_nothing(sg, catalog):
    for attempt in (lambda: save_filter(sg, "ada", "Everything", {"view": "all"}),
                    lambda: act_on_tasks(sg, "ada", "claim", ["0000"])):
        with pytest.raises(ReadOnlyRefused, match="ada is an auditor"):
            attempt()
    assert saved_filters(sg, "ada") == []

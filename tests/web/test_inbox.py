"""The inbox: each user sees their roles' open tasks, with filters, counts, sorting, age and due dates."""
import re

import pytest

from engine.services.users import add_user

from .conftest import text


def task_names(response) -> list[str]:
    """Task names in table order (the links to task pages)."""
    return re.findall(r'<td data-label="Task"><a href="/tasks/[^"]+">([^<]+)</a>', response.get_data(as_text=True))


def chip(response, label) -> str:
    """The filter link's text, e.g. 'Finance 2'."""
    found = re.search(r'<a class="chip"[^>]*>(' + re.escape(label) + r' <span class="count">\d+</span>)</a>',
                      response.get_data(as_text=True))
    assert found, f"no filter link {label!r}"
    return " ".join(re.sub(r"<[^>]+>", " ", found.group(1)).split())


@pytest.fixture
def pipeline(sg, driver):
    """A deal waiting for its proposal, then (an hour later) two deals waiting for sign-offs, and a discount."""
    proposal = driver.to_proposal()
    driver.sg.clock.advance(hours=1)
    first = driver.to_sign_offs()
    second = driver.to_sign_offs(price=300000)
    discount = driver.start(process_id="discount_approval", deal_name="Acme discount", list_price=100000,
                            discount_pct=25, justification="multi-year volume commitment")["id"]
    add_user(sg, "mia", ["Finance", "Sales"], "cli:test")
    return {"proposal": proposal, "sign_offs": [first, second], "discount": discount}


def test_finance_sees_its_sign_offs_and_not_the_sales_work(sign_in, pipeline):
    r = sign_in("fiona").get("/")
    assert r.status_code == 200
    names = task_names(r)
    assert names.count("Sign off pricing and margin") == 2
    assert "Approve large discount" in names
    assert "Prepare proposal" not in names
    assert "Sign off delivery date" not in names and "Sign off specifications" not in names
    page = text(r)
    assert "Acme pumps" in page and "Acme discount" in page, "the deal names are shown"


def test_sales_sees_the_proposal_to_prepare(sign_in, pipeline):
    r = sign_in("sam").get("/")
    assert task_names(r) == ["Prepare proposal"]
    html = r.get_data(as_text=True)
    assert f'href="/deals/{pipeline["proposal"]}"' in html, "the deal name links to the deal page"


def test_rows_link_to_the_task_and_show_stage_role_and_claim(sign_in, pipeline, driver):
    task = driver.ready(pipeline["sign_offs"][0])["Task_SignOffPricing"]
    r = sign_in("fiona").get("/")
    html = r.get_data(as_text=True)
    assert f'href="/tasks/{task["id"]}"' in html
    row = html[html.index(f'href="/tasks/{task["id"]}"'):]
    row = row[:row.index("</tr>")]
    assert "Proposal" in row and "Finance" in row and 'data-label="Claimed by">—' in row


def test_counts_for_every_filter_value(sign_in, pipeline):
    r = sign_in("mia").get("/")
    assert len(task_names(r)) == 4  # proposal + 2 pricing sign-offs + the large discount
    assert chip(r, "Finance") == "Finance 3"
    assert chip(r, "Sales") == "Sales 1"
    assert chip(r, "Opportunity") == "Opportunity 3", "processes by their names, not their ids"
    assert chip(r, "Discount approval") == "Discount approval 1"
    assert chip(r, "Proposal") == "Proposal 3"
    assert "All <span class=\"count\">4</span>" in r.get_data(as_text=True)


def test_filters_narrow_the_table_and_keep_the_counts(sign_in, pipeline):
    b = sign_in("mia")
    r = b.get("/?role=sales")
    assert task_names(r) == ["Prepare proposal"]
    assert chip(r, "Finance") == "Finance 3", "counts still show what the other values hold"
    assert 'aria-current="true">Sales' in r.get_data(as_text=True)
    assert sorted(task_names(b.get("/?process=discount_approval"))) == ["Approve large discount"]
    assert sorted(task_names(b.get("/?stage=Proposal"))) == ["Prepare proposal", "Sign off pricing and margin",
                                                            "Sign off pricing and margin"]
    assert task_names(b.get("/?role=sales&process=discount_approval")) == []
    assert "No open tasks match these filters" in text(b.get("/?role=sales&process=discount_approval"))


def test_filter_links_keep_the_other_choices(sign_in, pipeline):
    html = sign_in("mia").get("/?role=finance&sort=age").get_data(as_text=True)
    assert 'href="/?role=finance&amp;sort=age&amp;process=opportunity"' in html or \
        'href="/?process=opportunity&amp;role=finance&amp;sort=age"' in html


def test_sort_by_due_date_or_by_age(sign_in, pipeline):
    b = sign_in("mia")
    by_due = task_names(b.get("/?sort=due"))
    assert by_due == ["Sign off pricing and margin", "Sign off pricing and margin",
                      "Prepare proposal", "Approve large discount"], "tasks without a due date come last"
    by_age = task_names(b.get("/?sort=age"))
    assert by_age[0] == "Prepare proposal", "the oldest task comes first"
    assert task_names(b.get("/?sort=nonsense")) == by_due


def test_age_and_overdue_are_shown_as_people_read_them(sign_in, pipeline, sg):
    sg.clock.advance(hours=3)
    page = text(sign_in("fiona").get("/"))
    assert "3 h" in page and "overdue" not in page
    sg.clock.advance(days=8)
    r = sign_in("fiona").get("/")
    page = text(r)
    assert "8 d" in page
    assert page.count("overdue") == 2, "both pricing sign-offs are past their 3-business-day SLA"
    assert "UTC" in page, "the due date is shown"


def test_a_user_without_tasks_sees_an_empty_inbox(sign_in, pipeline):
    r = sign_in("lou").get("/")
    assert r.status_code == 200 and task_names(r) == []
    assert "No open tasks for your roles" in text(r)


def test_a_department_head_sees_the_departments_tasks_marked_as_such(sign_in, pipeline):
    """carl heads Finance without holding it: Finance's sign-offs are in his inbox, marked, to reassign, not to claim."""
    r = sign_in("carl").get("/")
    html = r.get_data(as_text=True)
    assert task_names(r).count("Sign off pricing and margin") == 2
    assert "Prepare proposal" not in task_names(r), "only the departments he heads"
    rows = re.findall(r"<tr class=\"[^\"]*\">(.*?)</tr>", html, re.S)
    pricing = [row for row in rows if "Sign off pricing and margin" in row]
    assert pricing and all("your department" in row for row in pricing)
    assert all("Reassign" in row and ">Claim<" not in row for row in pricing)
    assert "department you head: Finance" in " ".join(text(r).split())
    # A holder of the role sees the same tasks as their own work, unmarked.
    fiona = sign_in("fiona").get("/").get_data(as_text=True)
    assert "Sign off pricing and margin" in fiona and "your department" not in fiona

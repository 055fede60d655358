"""Resolving grading alerts from the dataset page: the owning steward or an admin may, others are refused."""

from __future__ import annotations

import pytest
from tests.classify.conftest import csv_of
from tests.conftest import csrf_of, login

from shuzhi.catalog.service import get_dataset
from shuzhi.classify.readmodel import classification

NAMES = ["王秀英", "李伟", "张敏", "刘洋", "陈静", "杨帆"]
DIAG = ["高血压", "2型糖尿病", "肺炎", "冠心病", "抑郁症", "胃炎"]
HTML = {"Accept": "text/html"}


@pytest.fixture
def alerts(db, settings, dataset, load, steward) -> list[dict]:
    """Two open alerts: a new diagnosis column raised the grade from L3 to L4."""
    load(dataset, csv_of({"xm": NAMES * 5, "beizhu": ["复诊"] * 30}))
    info = load(dataset, csv_of({"xm": NAMES * 5, "beizhu": ["复诊"] * 30, "zdmc": DIAG * 5}))
    assert {a["kind"] for a in info["alerts"]} == {"sensitive_column_added", "grade_raised"}
    return info["alerts"]


def open_alerts(db, settings, dataset) -> list[int]:
    with db.session() as s:
        return [a["id"] for a in classification(s, settings, get_dataset(s, dataset))["alerts"]]


def test_owning_steward_resolves_an_alert(client, db, settings, dataset, alerts):
    login(client, "wjw.steward")
    page = client.get(f"/datasets/{dataset}").text
    first, second = (a["id"] for a in alerts)
    action = f"/datasets/{dataset}/classification/alerts/{first}/resolve"
    assert f'action="{action}"' in page
    assert client.post(action, headers=HTML, follow_redirects=False).status_code == 403  # no CSRF token
    assert open_alerts(db, settings, dataset) == [first, second]
    r = client.post(action, data={"csrf_token": csrf_of(page)}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == f"/datasets/{dataset}#classification"
    assert open_alerts(db, settings, dataset) == [second]
    page = client.get(f"/datasets/{dataset}").text
    assert f'id="alert-{first}"' not in page and f'id="alert-{second}"' in page
    r = client.post(
        f"/datasets/{dataset}/classification/alerts/999/resolve",
        data={"csrf_token": csrf_of(page)},
        headers=HTML,
    )
    assert r.status_code == 404


def test_admin_of_another_department_may_resolve(client, db, settings, dataset, alerts, make_user):
    make_user("root", dept="GA", roles=("admin",))
    login(client, "root")
    page = client.get(f"/datasets/{dataset}").text
    r = client.post(
        f"/datasets/{dataset}/classification/alerts/{alerts[0]['id']}/resolve",
        data={"csrf_token": csrf_of(page)},
        follow_redirects=False,
    )
    assert r.status_code == 303 and open_alerts(db, settings, dataset) == [alerts[1]["id"]]


@pytest.mark.parametrize(
    ("username", "dept", "roles"), [("ga.steward", "GA", ("steward",)), ("wjw.analyst", "WJW", ("analyst",))]
)
def test_others_cannot_resolve(client, db, settings, dataset, alerts, make_user, username, dept, roles):
    make_user(username, dept=dept, roles=roles)
    login(client, username)
    page = client.get(f"/datasets/{dataset}").text
    assert 'id="alert-' in page and "/resolve" not in page  # the alert shows, its button does not
    for a in alerts:
        r = client.post(
            f"/datasets/{dataset}/classification/alerts/{a['id']}/resolve",
            data={"csrf_token": csrf_of(page)},
            headers=HTML,
            follow_redirects=False,
        )
        assert r.status_code == 403 and "只有数据提供部门的数据管理员" in r.text
    assert open_alerts(db, settings, dataset) == [a["id"] for a in alerts]

"""Pages never answer raw JSON for a user's mistake: links with bad parameters are corrected, other
bad input is a page naming the field in the reader's language."""

import pytest
from tests.conftest import login


@pytest.fixture
def analyst(client, make_user):
    make_user("rs.analyst", "RS")
    login(client, "rs.analyst")
    return client


@pytest.mark.parametrize("page", ["0", "-3", "abc", "1e9999"])
def test_a_catalog_page_number_out_of_range_is_corrected(analyst, page):
    r = analyst.get(f"/catalog?q=社保&page={page}", follow_redirects=False)
    assert r.status_code == 303
    target = r.headers["location"]
    assert "page=1" in target and "q=%E7%A4%BE%E4%BF%9D" in target
    shown = analyst.get(target)
    assert shown.status_code == 200 and "text/html" in shown.headers["content-type"]
    assert "已更正" in shown.text and "page" in shown.text


def test_a_word_where_a_number_belongs_is_dropped_from_the_link(analyst, make_user):
    make_user("auditor1", "BDB", roles=("auditor",))
    login(analyst, "auditor1")
    r = analyst.get("/audit?before_seq=abc&event=request.submitted", follow_redirects=False)
    assert r.status_code == 303
    assert "before_seq" not in r.headers["location"] and "event=request.submitted" in r.headers["location"]


def test_a_form_missing_a_field_answers_a_page_in_the_readers_language(analyst):
    r = analyst.get("/exchange/request/new?lang=en")  # no dataset given: go and find one
    assert r.status_code == 200 and r.url.path == "/catalog" and "Find the dataset" in r.text
    r = analyst.post(
        "/datasets/x/classification/grade?lang=en",
        data={"action": "accept"},
        headers={"referer": "http://testserver/datasets/x"},
    )
    assert r.status_code in (403, 422)
    assert "text/html" in r.headers["content-type"] and not r.text.lstrip().startswith("{")


def test_the_api_still_answers_json(client, make_user, token_for):
    make_user("rs.analyst", "RS")
    r = client.get("/api/v1/datasets?limit=abc", headers=token_for("rs.analyst"))
    assert r.status_code == 422 and r.json()["error"] == "invalid_input"


def test_errors_come_in_the_language_asked(client, make_user, token_for):
    make_user("rs.analyst", "RS")
    h = token_for("rs.analyst")
    missing = "/api/v1/datasets/NO-SUCH-DATASET"
    both = client.get(missing, headers=h).json()["message"]
    en = client.get(missing, headers={**h, "Accept-Language": "en-GB,en;q=0.9,zh;q=0.5"}).json()["message"]
    zh = client.get(missing, headers={**h, "Accept-Language": "fr, zh-CN;q=0.8, en;q=0.2"}).json()["message"]
    assert both.startswith(zh) and both.endswith(f"({en})") and zh != en
    assert not any("\u4e00" <= ch <= "\u9fff" for ch in en) and any("\u4e00" <= ch <= "\u9fff" for ch in zh)


def test_a_page_error_is_in_the_readers_language(analyst):
    page = analyst.get("/datasets/NO-SUCH-DATASET?lang=en")
    assert page.status_code == 404 and "text/html" in page.headers["content-type"]
    message = page.text.split('class="error" role="alert">')[1].split("<")[0]
    assert message and not any("\u4e00" <= ch <= "\u9fff" for ch in message)
    assert analyst.get("/no/such/page").headers["content-type"].startswith("text/html")


@pytest.mark.parametrize(
    "text, zh, en",
    [
        ("复核必须填写理由 (a review needs a reason)", "复核必须填写理由", "a review needs a reason"),
        ("字段 a(b) 不存在 (no field a(b) in x (y))", "字段 a(b) 不存在", "no field a(b) in x (y)"),
        (
            "取值须为 A, B / must be one of the codes listed",
            "取值须为 A, B",
            "must be one of the codes listed",
        ),
        ("only English here", "only English here", "only English here"),
        ("只有中文（全角）", "只有中文（全角）", "只有中文（全角）"),
    ],
)
def test_bilingual_messages_split_by_language(text, zh, en):
    from shuzhi.errors import in_language

    assert (in_language(text, "zh"), in_language(text, "en")) == (zh, en)


@pytest.mark.parametrize(("lang", "words"), [("zh", "须为整数"), ("en", "must be a whole number")])
def test_a_fields_problem_is_said_in_the_readers_language(analyst, lang, words):
    page = analyst.get(f"/exchange/grants/abc?lang={lang}")
    assert page.status_code == 422 and "text/html" in page.headers["content-type"]
    assert f"<code>grant_id</code>：{words}</li>" in page.text

"""One error format (problem+json) and no 500 for anything a client can send."""

from __future__ import annotations

import pytest

from workorders.models import WorkOrder


def _is_problem(response, status, code=None):
    assert response.status_code == status, response.content[:300]
    assert response["Content-Type"] == "application/problem+json"
    body = response.body
    assert {"type", "title", "status", "detail", "code", "errors"} <= set(body)
    assert body["status"] == status and body["type"].endswith(body["code"])
    if code:
        assert body["code"] == code, body


@pytest.mark.parametrize("raw", [
    b"{not json", b'{"a": NaN}', b"\xff\xfe{}", b"[" * 100_000 + b"]" * 100_000,
    b'{"customer": {"name": "\\ud800", "phone": "13812345678"}}', b"", b"null",
])
def test_unreadable_bodies_are_4xx_and_write_nothing(cc, raw):
    response = cc.post("work-orders/", raw=raw, headers={"Idempotency-Key": "k"})
    assert 400 <= response.status_code < 500
    _is_problem(response, response.status_code)
    assert not WorkOrder.objects.exists()


def test_a_json_array_is_not_an_order(cc):
    response = cc.post("work-orders/", raw=b"[1, 2]", headers={"Idempotency-Key": "k"})
    _is_problem(response, 400, "validation_error")


def test_a_huge_body_is_a_413(cc, settings):
    settings.API_MAX_BODY_BYTES = 1000
    response = cc.post("work-orders/", raw=b'{"notes": "' + b"x" * 5000 + b'"}',
                       headers={"Idempotency-Key": "k"})
    _is_problem(response, 413, "payload_too_large")


def test_another_charset_is_refused(cc, intake):
    response = cc.post("work-orders/", raw=b"{}",
                       content_type="application/json; charset=iso-8859-1",
                       headers={"Idempotency-Key": "k"})
    _is_problem(response, 400, "parse_error")


def test_form_encoded_bodies_are_415(cc):
    response = cc.post("work-orders/", raw=b"a=1", content_type="application/x-www-form-urlencoded",
                       headers={"Idempotency-Key": "k"})
    _is_problem(response, 415, "unsupported_media_type")


def test_no_token_is_a_401_with_a_challenge(client, reference_data):
    response = client.get("/api/v1/work-orders/")
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert response["Content-Type"] == "application/problem+json"


def test_an_unknown_url_under_the_api_is_problem_json(cc):
    response = cc.get("nothing-here/")
    _is_problem(response, 404, "not_found")


@pytest.mark.parametrize("path", [
    "/api/v1/work-orders/1/\n", "/api/v1/%0A", "/api/v1/work-orders/%0D%0A/", "/api/v1/\t/",
    "/api/v1/work-orders/%FF/", "/api/v1/work-orders/1", "/api/", "/api/v2/work-orders/",
    "/api/v1/work-orders/../", "/api/\u00e9\u4e2d/",
])
def test_a_malformed_path_under_the_api_is_a_problem_json_404_not_an_html_page(cc, path):
    """Issue 18, item 8: a newline or odd characters in the path got Django's HTML 404."""
    _is_problem(cc.get(path), 404, "not_found")


def test_an_unknown_order_is_404(cc):
    _is_problem(cc.get("work-orders/999999/"), 404, "not_found")


def test_a_wrong_method_is_405(cc):
    _is_problem(cc.delete("work-orders/"), 405, "method_not_allowed")


@pytest.mark.parametrize("query", [
    {"state": "flying"}, {"technician": "abc"}, {"created_after": "yesterday"},
    {"page_size": "0"}, {"cursor": "!!!"}, {"cursor": "aTEyYQ"}, {"area": "x" * 500},
    {"customer_phone": "1\x00"},
])
def test_bad_filters_are_400_with_the_parameter(cc, query):
    response = cc.get("work-orders/", **query)
    _is_problem(response, 400, "validation_error")
    assert response.body["errors"][0]["field"] == next(iter(query))


def test_a_bug_is_a_logged_problem_json_500_not_an_html_page(cc, make_order, monkeypatch,
                                                             caplog):
    from api import views

    order = make_order()

    def broken(order, request, **where):
        raise RuntimeError("boom")

    monkeypatch.setattr(views, "order_body", broken)
    response = cc.get(f"work-orders/{order.pk}/")
    _is_problem(response, 500, "internal_error")
    assert "boom" not in response.content.decode()
    assert any(r.exc_info and "boom" in str(r.exc_info[1]) for r in caplog.records)

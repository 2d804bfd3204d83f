"""The admin: clients registered with their service user, tokens issued once and revoked."""

from __future__ import annotations

import re

from django.contrib.messages import get_messages

from api.models import ApiClient, ApiToken
from fieldops import roles
from tests.api.conftest import Caller


def test_registering_a_client_in_the_admin_makes_its_service_user(admin_client,
                                                                  reference_data):
    response = admin_client.post("/admin/api/apiclient/add/", {
        "name": "10086 热线", "role": "reporting", "is_active": "on",
        "rate_limit_per_minute": "120", "contact": "ops@example.com",
        "tokens-TOTAL_FORMS": "0", "tokens-INITIAL_FORMS": "0"})
    assert response.status_code == 302, response.content[:500]
    client = ApiClient.objects.get()
    assert client.user.get_full_name() == "10086 热线"
    assert not client.user.has_usable_password()
    assert list(client.user.groups.values_list("name", flat=True)) == [roles.REPORTING]


def test_a_token_issued_in_the_admin_is_shown_once_and_works(admin_client, call_centre):
    response = admin_client.post("/admin/api/apiclient/", {
        "action": "issue_token", "_selected_action": [call_centre.pk]})
    text = " ".join(str(m) for m in get_messages(response.wsgi_request))
    plain = re.search(r"fo_[0-9a-f]+_\S+", text).group(0)
    assert Caller(plain).get("me/").status_code == 200
    token = ApiToken.objects.get()
    assert plain not in (token.digest, token.prefix)
    shown = admin_client.get("/admin/api/apiclient/")  # the message is shown here, once
    assert plain.encode() in shown.content
    page = admin_client.get(f"/admin/api/apitoken/{token.pk}/change/")
    assert page.status_code == 200 and plain.encode() not in page.content


def test_revoking_in_the_admin_locks_the_token_out(admin_client, call_centre):
    from api import services

    token, plain = services.api_token_issue(client=call_centre)
    admin_client.post("/admin/api/apitoken/", {"action": "revoke",
                                               "_selected_action": [token.pk]})
    assert Caller(plain).get("me/").status_code == 401

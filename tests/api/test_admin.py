"""The admin: clients registered with their service user, tokens issued once and revoked."""

from __future__ import annotations

import re

from django.contrib.messages import get_messages

from api.models import ApiClient, ApiToken, WebhookEndpoint
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


def test_the_admin_refuses_a_webhook_url_inside_our_network_on_the_form(admin_client,
                                                                       call_centre):
    # Defect: the admin's add form passed such a URL to the service, which refused it
    # after the form was accepted (a 500); a changed URL was not checked at all.
    data = {"client": call_centre.pk, "url": "https://hooks.internal.example/h",
            "event_types": "[]", "description": "", "is_active": "on"}
    response = admin_client.post("/admin/api/webhookendpoint/add/", data)
    assert response.status_code == 200
    assert "url" in response.context["adminform"].form.errors
    assert not WebhookEndpoint.objects.exists()
    data["url"] = "https://cc.example.com/h"
    assert admin_client.post("/admin/api/webhookendpoint/add/", data).status_code == 302
    endpoint = WebhookEndpoint.objects.get()
    data["url"] = "https://2130706433/"
    response = admin_client.post(f"/admin/api/webhookendpoint/{endpoint.pk}/change/", data)
    assert response.status_code == 200
    endpoint.refresh_from_db()
    assert endpoint.url == "https://cc.example.com/h"

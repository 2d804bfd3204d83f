"""The ways into the product that role matrices try every endpoint with: a session per
person (staff and technicians) and a token per API client role (R41, R50-R52). A matrix
names each way by its role; ``post`` sends a write with an Idempotency-Key of its own."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import User
from django.test import Client

from api import services as api_services
from api.models import ApiClient, ClientRole

#: A way in: the user, its HTTP client and the headers each call carries.
WayIn = tuple[User, Client, dict[str, str]]

API_CLIENT_ROLES = {"call-centre API client": ClientRole.CALL_CENTRE,
                    "reporting API client": ClientRole.REPORTING,
                    "dispatcher API client": ClientRole.DISPATCHER}


def token(role: str) -> WayIn:
    api_client: ApiClient = api_services.api_client_create(name=f"matrix-{role}", role=role)
    _row, plain = api_services.api_token_issue(client=api_client)
    return api_client.user, Client(), {"Authorization": f"Bearer {plain}"}


def session(user: User) -> WayIn:
    client = Client()
    client.force_login(user)
    return user, client, {}


def ways_in(*, dispatcher: Any, agent: Any, supervisor: Any, inspector: Any, alice: Any,
            bob: Any, api_clients: tuple[str, ...] = tuple(API_CLIENT_ROLES)
            ) -> dict[str, WayIn]:
    """Every role by its name: an admin, the office's roles and two technicians (alice's
    orders are hers, bob's are not) by session, and the named API client roles by token."""
    admin = User.objects.create_superuser("root", password="pw-root-admin")
    return {
        "admin": session(admin), "agent": session(agent),
        "supervisor": session(supervisor), "inspector": session(inspector),
        "dispatcher": session(dispatcher),
        "technician": session(alice.user), "other technician": session(bob.user),
        **{name: token(API_CLIENT_ROLES[name]) for name in api_clients},
    }


def post(way: WayIn, role: str, url: str, body: dict[str, Any]) -> Any:
    """A write as ``role``, with an Idempotency-Key of its own for this role and URL."""
    _user, client, headers = way
    return client.post(url, body, content_type="application/json",
                       headers={**headers, "Idempotency-Key": f"{role}{url}".replace(" ", "-")})

"""Where a login without ``next`` lands (issue 18)."""

from __future__ import annotations

from django.test import Client
from django.urls import reverse


def test_a_login_without_next_lands_on_the_desk_not_a_404(client: Client, dispatcher):
    # Defect: a login with no "next" went to Django's /accounts/profile/, a 404.
    response = client.post(reverse("admin:login"), {"username": "dora",
                                                    "password": "pw-dora"})
    assert response.status_code == 302
    assert response.url == reverse("admin:index")
    home = client.get(response.url, follow=True)  # a dispatcher's desk opens on the queue
    assert home.status_code == 200
    assert home.redirect_chain[-1][0] == reverse("admin:workorders_workorder_queue")

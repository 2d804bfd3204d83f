"""Staff see what was sent to a customer, but not the customer's signed links (R29, R40):
a booking or survey link acts as the customer, so the admin shows it with its token cut
out."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from fieldops.signed_links import mask_links
from notifications.models import Channel, Notification

TOKEN = "MTIz:AbCdEf-123_xyz:1w2E3r:SiGnAtUrE_0123456789abcdef"


def test_the_token_of_every_customer_link_is_cut_out():
    survey = reverse("survey:answer", args=[TOKEN])
    booking = reverse("customer:appointment", args=[TOKEN])
    text = (f"请评价本次服务 https://fieldops.example{survey} 或改约 "
            f"https://fieldops.example{booking}。")
    masked = mask_links(text)
    assert TOKEN not in masked
    assert survey.replace(TOKEN, "…") in masked and booking.replace(TOKEN, "…") in masked
    assert masked.startswith("请评价本次服务 https://fieldops.example/")
    assert mask_links("no link here /admin/x/") == "no link here /admin/x/"


@pytest.mark.django_db
def test_the_outbox_admin_shows_the_sms_without_the_link_token():
    root = User.objects.create_superuser("root", "root@example.com", "pw-root")
    sms = Notification.objects.create(
        channel=Channel.SMS, address="13812345678", kind="survey",
        body=f"请评价本次服务：https://fieldops.example{reverse('survey:answer', args=[TOKEN])}",
        params={"number": "WO-1",
                "url": f"https://fieldops.example{reverse('survey:answer', args=[TOKEN])}"})
    client = Client()
    client.force_login(root)
    page = client.get(reverse("admin:notifications_notification_change", args=[sms.pk]))
    assert page.status_code == 200
    content = page.content.decode()
    assert TOKEN not in content
    assert "请评价本次服务" in content

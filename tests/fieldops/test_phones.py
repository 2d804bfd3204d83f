"""Phone numbers read with libphonenumber (``fieldops.phones``): the formats a call centre
sends, one stored form, impossible numbers refused with a message that says what to write,
and every face (API, desk form, admin, code) keeping numbers in that form."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from console.forms import WorkOrderIntakeForm
from fieldops import phones
from technicians.models import Technician
from workorders.models import Customer, WorkOrder

pytestmark = pytest.mark.django_db

WRITTEN = [
    # (as people write it, the one stored form)
    ("13812345678", "13812345678"),
    ("138 1234 5678", "13812345678"),
    ("138-1234-5678", "13812345678"),
    ("+86 138 1234 5678", "13812345678"),
    ("+86-138-1234-5678", "13812345678"),
    ("0086 13812345678", "13812345678"),
    ("010 6552 9988", "01065529988"),
    ("(010) 6552-9988", "01065529988"),
    ("+86 10 6552 9988", "01065529988"),
    ("0755-8888 6666", "075588886666"),
    ("+852 6123 4567", "+85261234567"),
    ("+1 (202) 555-0143", "+12025550143"),
]

IMPOSSIBLE = [
    "1381234567",  # a mobile one digit short
    "138123456789",  # one too many
    "12345678901",  # no mobile plan starts 12
    "6552 9988",  # a fixed line without its area code
    "010-1234",
    "+86",
    "+999 1234 5678",  # no such country code
    "abc",
    "138 1234 5678 ext 2",
    "",
    "1" * 40,
]


@pytest.mark.parametrize(("given", "stored"), WRITTEN)
def test_a_number_as_people_write_it_is_kept_in_one_form(given, stored):
    assert phones.normalized(given) == stored
    assert phones.normalized(stored) == stored  # the stored form reads as itself


@pytest.mark.parametrize("given", IMPOSSIBLE)
def test_a_number_that_cannot_exist_is_refused_with_what_to_write(given):
    with pytest.raises(ValidationError) as refused:
        phones.normalized(given)
    assert refused.value.code == "phone"
    assert "13812345678" in str(refused.value.messages[0])


def test_mobiles_take_sms_and_fixed_lines_do_not():
    assert phones.is_mobile("138 1234 5678") and phones.is_mobile("+85261234567")
    assert not phones.is_mobile("010 6552 9988")
    assert not phones.is_mobile("1381234567")
    assert phones.e164("13812345678") == "+8613812345678"
    assert phones.e164("+852 6123 4567") == "+85261234567"


def test_the_home_region_is_a_setting(settings):
    settings.PHONE_REGION = "HK"
    assert phones.normalized("6123 4567") == "61234567"
    with pytest.raises(ValidationError):
        phones.normalized("6552 9988 1")
    settings.PHONE_REGION = "CN"
    assert phones.normalized("+852 6123 4567") == "+85261234567"


def test_a_number_written_by_code_is_saved_in_the_stored_form(make_order, alice):
    order = make_order(contact_phone="+86 139-0000-1111")
    assert WorkOrder.objects.values_list("contact_phone", flat=True).get(pk=order.pk) == \
        "13900001111"
    alice.phone = "(010) 6552-9988"
    alice.save()
    assert Technician.objects.values_list("phone", flat=True).get(pk=alice.pk) == "01065529988"


def test_a_stored_value_that_cannot_be_read_is_kept_as_it_is(make_order):
    order = make_order()
    # Saving is not where numbers are refused (the faces are); nothing is lost.
    WorkOrder.objects.filter(pk=order.pk).update(contact_phone="8-800 call us")
    order.refresh_from_db()
    order.save()
    order.refresh_from_db()
    assert order.contact_phone == "8-800 call us"


def test_the_migration_step_puts_stored_numbers_into_the_one_form(make_order):
    order = make_order()
    WorkOrder.objects.filter(pk=order.pk).update(contact_phone="+86 138-1234-5678")
    Customer.objects.filter(pk=order.customer_id).update(phone="0086 13812345678",
                                                         alt_phone="not a number")
    assert phones.normalize_stored(WorkOrder, "contact_phone") == 1
    assert phones.normalize_stored(Customer, "phone", "alt_phone") == 1
    order.refresh_from_db()
    customer = Customer.objects.get(pk=order.customer_id)
    assert order.contact_phone == "13812345678" and customer.phone == "13812345678"
    assert customer.alt_phone == "not a number"
    assert phones.normalize_stored(WorkOrder, "contact_phone") == 0  # done once


def test_the_desk_intake_form_normalises_and_refuses_with_the_message(east):
    data = {"channel": "walk_in", "kind": "repair", "service": "broadband",
            "access_type": "ftth", "customer_class": "standard", "customer_name": "王芳",
            "contact_phone": "137 0000 1111", "address": "北京市东城区北新桥 1 号",
            "area": east.pk, "symptoms": "无法上网"}
    form = WorkOrderIntakeForm(data)
    assert form.is_valid(), form.errors
    assert form.cleaned_data["contact_phone"] == "13700001111"
    form = WorkOrderIntakeForm({**data, "contact_phone": "137 0000 111"})
    assert not form.is_valid()
    assert form.errors["contact_phone"] == [str(phones.INVALID)]


def test_the_admin_technician_form_normalises_the_number(admin_client, alice):
    url = reverse("admin:technicians_technician_change", args=[alice.pk])
    page = admin_client.get(url)
    assert page.status_code == 200
    form = page.context["adminform"].form
    assert isinstance(form.fields["phone"], phones.PhoneFormField)
    data = {name: value for name, value in form.initial.items() if value is not None}
    bound = type(form)({**data, "phone": "abc"}, instance=alice)
    assert not bound.is_valid() and "phone" in bound.errors

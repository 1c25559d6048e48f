"""Users (R2, R5) and the configuration value that shows the Exchange button (R3)."""

from __future__ import annotations

from datetime import date

import pytest
from django.db import IntegrityError, transaction

from accounts.models import USER_MAINTENANCE_SHOW_FIELDS, Setting, exchange_button_enabled

pytestmark = pytest.mark.django_db


def test_user_code_is_stored_uppercase_and_signs_in_any_case(django_user_model, client):
    user = django_user_model.objects.create_user("mtremblay", "secret-123", name="Marie Tremblay")
    assert user.code == "MTREMBLAY"
    assert client.login(username="mtremblay", password="secret-123")


def test_user_codes_are_unique(django_user_model):
    django_user_model.objects.create_user("MROY", "x", name="Marc Roy")
    with pytest.raises(IntegrityError), transaction.atomic():
        django_user_model.objects.create_user("MROY", "x", name="Martine Roy")


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({}, True),
        ({"is_active": False}, False),
        ({"email": ""}, False),
        ({"never_expires": False, "expiry_date": date(2000, 1, 1)}, False),
        ({"never_expires": False, "expiry_date": date(2999, 1, 1)}, True),
        ({"never_expires": True, "expiry_date": date(2000, 1, 1)}, True),
        ({"never_expires": False, "expiry_date": None}, True),
    ],
)
def test_only_active_unexpired_users_with_email_are_synchronized_R5(django_user_model, fields, expected):
    values = {"name": "Marie", "email": "marie@prextra.test", **fields}
    user = django_user_model.objects.create_user("MARIE", "x", **values)
    assert user.can_be_synchronized is expected
    # The one rule, said for one user and for many: the scheduler's query agrees with the screens.
    assert django_user_model.objects.synchronizable().filter(pk=user.pk).exists() is expected
    assert bool(user.sync_blocker()) is not expected


def test_user_maintenance_show_fields_is_seeded_empty_R3():
    assert Setting.objects.get(key=USER_MAINTENANCE_SHOW_FIELDS).value == ""
    assert not exchange_button_enabled()


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("btnexchange", True),
        ("btnsignature, BtnExchange", True),
        ("btnsignature;btnexchange", True),
        ("btnsignature", False),
        ("btnexchanges", False),
    ],
)
def test_exchange_button_shows_only_when_setting_contains_btnexchange_R3(value, expected):
    Setting.objects.filter(key=USER_MAINTENANCE_SHOW_FIELDS).update(value=value)
    assert exchange_button_enabled() is expected


def test_calendar_scale_out_of_range_is_refused_by_the_database(django_user_model):
    with pytest.raises(IntegrityError), transaction.atomic():
        django_user_model.objects.create_user("ZED", "x", name="Zed", crm_calendar_scale=1)

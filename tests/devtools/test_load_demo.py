"""The demo data command: realistic data, and running it twice changes nothing."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from django.core.serializers import serialize

from accounts.models import User, exchange_button_enabled
from crm.models import Activity, Contact, Customer, EmailDomain, Prospect, Supplier
from devtools.demo import DEMO_PASSWORD

pytestmark = pytest.mark.django_db

MODELS = (User, Customer, Prospect, Supplier, EmailDomain, Contact, Activity)


def _snapshot() -> dict[str, str]:
    return {model.__name__: serialize("json", model.objects.order_by("pk")) for model in MODELS}


def test_demo_data_is_realistic_and_signs_in(client):
    call_command("load_demo", stdout=StringIO())
    assert User.objects.filter(is_staff=True).count() == 1
    assert User.objects.filter(is_staff=False).count() >= 3
    assert Customer.objects.count() and Prospect.objects.count() and Supplier.objects.count()
    assert Contact.objects.count() > 100
    assert Activity.objects.filter(all_day=True).exists()
    assert Activity.objects.filter(is_private=True).exists()
    assert EmailDomain.objects.count() == Customer.objects.count() + Prospect.objects.count() + Supplier.objects.count()
    assert exchange_button_enabled()
    assert client.login(username="ADMIN", password=DEMO_PASSWORD)


def test_running_the_demo_command_twice_changes_nothing():
    call_command("load_demo", stdout=StringIO())
    before = _snapshot()
    call_command("load_demo", stdout=StringIO())
    assert _snapshot() == before

"""Fixtures of the administrator screens: a signed-in administrator, the Exchange button, a connection."""

from __future__ import annotations

import pytest

from accounts.models import USER_MAINTENANCE_SHOW_FIELDS, Setting
from exchange.models import GraphConnection


@pytest.fixture
def admin_client(client, admin_user):
    """Alice's browser session."""
    client.force_login(admin_user)
    return client


@pytest.fixture
def exchange_button(db):
    """UserMaintenanceShowFields contains btnexchange (R3)."""
    setting, _created = Setting.objects.get_or_create(key=USER_MAINTENANCE_SHOW_FIELDS)
    setting.value = "btnsomething, btnexchange"
    setting.save()
    return setting


@pytest.fixture
def graph_connection(db):
    """A registered Microsoft 365 connection (R1); nothing in these tests talks to it."""
    connection = GraphConnection(tenant_id="contoso.onmicrosoft.com", client_id="11111111-2222")
    connection.set_secret("x")
    connection.save()
    return connection

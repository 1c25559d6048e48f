"""The menu (prextra_sync/menu.py): the screens a user may open, administrators' screens to them only."""

from __future__ import annotations

import pytest
from django.urls import reverse

from prextra_sync.menu import menu_for

pytestmark = pytest.mark.django_db


def _urls(user) -> set[str]:
    return {url for _title, links in menu_for(user) for _label, url, _badge in links}


def test_administrators_find_the_sync_journal_in_the_menu(admin_user, crm_user):
    assert {reverse("journal"), reverse("sync_status")} <= _urls(admin_user)
    assert reverse("journal") not in _urls(crm_user)
    assert reverse("contact_search") in _urls(crm_user)

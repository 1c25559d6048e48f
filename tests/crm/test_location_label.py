"""An activity's location reads « Emplacement » on every screen, as in the customer's help page."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest
from django.urls import reverse
from django.utils import timezone

from crm.models import Activity

ROOT = Path(__file__).resolve().parents[2]
OTHER_WORDS = re.compile(r"\b(Endroit|Lieu)\b", re.IGNORECASE)


@pytest.fixture
def meeting(crm_user, make_contact, finloc):
    start = timezone.now() + timedelta(days=1)
    return Activity.objects.create(
        owner=crm_user,
        subject="Présentation tactile",
        location="Mon Bureau",
        start=start,
        end=start + timedelta(hours=1),
        contact=make_contact("David", "Veilleux", customer=finloc),
        source=Activity.Source.OUTLOOK,
        outlook_id="id-presentation",
    )


def _urls(meeting) -> list[str]:
    return [
        reverse("home"),
        reverse("contact_detail", args=[meeting.contact_id]),
        reverse("activity_detail", args=[meeting.pk]),
        reverse("activity_edit", args=[meeting.pk]),
        reverse("activity_create"),
        reverse("imported_activities"),
    ]


def test_every_screen_showing_a_location_calls_it_emplacement(client, crm_user, meeting):
    client.force_login(crm_user)
    for url in _urls(meeting):
        html = client.get(url).content.decode()
        assert "Emplacement" in html, url
        assert not OTHER_WORDS.search(re.sub(r"au lieu", "", html)), url


def test_the_field_itself_is_named_emplacement():
    assert Activity._meta.get_field("location").verbose_name == "emplacement"


def test_no_template_or_module_words_it_otherwise():
    sources = [*(ROOT / "templates").rglob("*.html"), *(ROOT / "crm").glob("*.py")]
    found = [str(path.relative_to(ROOT)) for path in sources if OTHER_WORDS.search(path.read_text())]
    assert found == []

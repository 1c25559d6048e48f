"""The privacy rule, written once for SQL (readable_q, Activity.objects.readable_by) and once for
Python (hidden_from, Activity.is_hidden_from): both say the same of every activity and viewer.

Another user's private activity is hidden (only « Occupé »), administrators included; one's own
private activity and everyone's public ones are readable.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db.models import Case, Value, When
from django.utils import timezone

from crm.calendar import cards_of
from crm.models import Activity, readable_q

pytestmark = pytest.mark.django_db


@pytest.fixture
def activities(crm_user, outsider, admin_user) -> dict[str, Activity]:
    start = timezone.now()

    def make(subject, owner, private):
        return Activity.objects.create(
            owner=owner, subject=subject, start=start, end=start + timedelta(hours=1), is_private=private
        )

    return {
        "bob private": make("bob private", crm_user, True),
        "bob public": make("bob public", crm_user, False),
        "charlie private": make("charlie private", outsider, True),
        "charlie public": make("charlie public", outsider, False),
        "admin private": make("admin private", admin_user, True),
    }


def _readable_in_sql(viewer) -> set[str]:
    return set(Activity.objects.readable_by(viewer).values_list("subject", flat=True))


def _readable_in_python(viewer) -> set[str]:
    return {activity.subject for activity in Activity.objects.all() if not activity.is_hidden_from(viewer)}


def test_own_private_and_public_activities_are_readable_another_users_private_one_is_not(activities, crm_user):
    expected = {"bob private", "bob public", "charlie public"}
    assert _readable_in_sql(crm_user) == expected
    assert _readable_in_python(crm_user) == expected


def test_an_administrator_is_not_exempt(activities, admin_user):
    expected = {"admin private", "bob public", "charlie public"}
    assert _readable_in_sql(admin_user) == expected
    assert _readable_in_python(admin_user) == expected


@pytest.mark.parametrize("viewer_name", ["crm_user", "outsider", "admin_user"])
def test_sql_python_and_the_cards_agree_for_every_viewer(activities, viewer_name, request):
    viewer = request.getfixturevalue(viewer_name)
    hidden_in_sql = dict(
        Activity.objects.annotate(
            hidden=Case(When(~readable_q(viewer), then=Value(True)), default=Value(False))
        ).values_list("subject", "hidden")
    )
    hidden_in_python = {activity.subject: activity.is_hidden_from(viewer) for activity in Activity.objects.all()}
    busy_cards = {card.pk: card.busy for card in cards_of(Activity.objects.all(), viewer)}
    assert hidden_in_sql == hidden_in_python
    assert {activity.subject: busy_cards[activity.pk] for activity in activities.values()} == hidden_in_python
    assert sum(hidden_in_python.values()) == 2  # the two private activities of the other users

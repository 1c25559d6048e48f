"""Housekeeping of the background machinery: worker heartbeats and the embedded broker's table."""

from __future__ import annotations

import logging

from django.conf import settings
from django.db.models import F
from django.utils import timezone

from .models import WorkerHeartbeat

logger = logging.getLogger(__name__)


def record_heartbeat(name: str) -> WorkerHeartbeat:
    """Stamp `name` as seen now and count it."""
    now = timezone.now()
    updated = WorkerHeartbeat.objects.filter(name=name).update(last_seen=now, count=F("count") + 1)
    if not updated:
        WorkerHeartbeat.objects.get_or_create(name=name, defaults={"last_seen": now, "count": 1})
    return WorkerHeartbeat.objects.get(name=name)


def purge_delivered_broker_messages() -> int:
    """Delete delivered (invisible) messages of kombu's SQLAlchemy transport; 0 on any other broker.

    kombu only flags delivered rows `visible = 0` and never reads them again, so deleting them
    while workers run is safe (docs/recipes/celery-embedded.md §4).
    """
    url = settings.CELERY_BROKER_URL
    if not url.startswith("sqla+"):
        return 0
    import sqlalchemy

    engine = sqlalchemy.create_engine(url.removeprefix("sqla+"), connect_args={"timeout": 30})
    try:
        with engine.begin() as connection:
            if not sqlalchemy.inspect(connection).has_table("kombu_message"):
                return 0
            result = connection.execute(sqlalchemy.text("DELETE FROM kombu_message WHERE visible = 0"))
            deleted = result.rowcount or 0
    finally:
        engine.dispose()
    logger.info("Purged %d delivered messages from the embedded broker", deleted)
    return deleted


def declare_broker_queues() -> list[str]:
    """Declare every Celery queue once, before worker and beat start.

    On a fresh embedded-broker file, processes starting together can race to insert the queue
    row and one dies with an IntegrityError (docs/recipes/celery-embedded.md §4).
    """
    from prextra_sync.celery import app

    names = []
    with app.connection_for_write() as connection:
        channel = connection.default_channel
        for queue in app.amqp.queues.values():
            queue.bind(channel).declare()
            names.append(queue.name)
    return names

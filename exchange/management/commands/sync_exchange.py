"""Run the synchronization now, in this process (the same functions the Celery tasks call)."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from accounts.models import User
from exchange.models import LANES, Direction, SyncRun
from exchange.scheduling import SYNCS, due_syncs, run_sync
from exchange.sync.locks import SyncBusy

DIRECTIONS = {"contacts": Direction.CONTACTS_IN, "activities-in": Direction.ACTIVITIES_IN,
              "activities-out": Direction.ACTIVITIES_OUT}  # fmt: skip


class Command(BaseCommand):
    help = "Synchronize Exchange now: every due user and direction, or one user and/or one direction."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--user", help="user code")
        parser.add_argument("--direction", choices=sorted(DIRECTIONS))

    def handle(self, *args, user=None, direction=None, **options) -> None:
        pairs = due_syncs()
        if user:
            found = User.objects.filter(code__iexact=user).first()
            if found is None:
                raise CommandError(f"Unknown user code: {user}")
            pairs = [(found.pk, wanted) for wanted in SYNCS]
        if direction:
            group = LANES[DIRECTIONS[direction]].group
            pairs = [(user_id, wanted) for user_id, wanted in pairs if wanted == group]
        for user_id, wanted in pairs:
            self._run(user_id, wanted)

    def _run(self, user_id: int, direction: str) -> None:
        try:
            run = run_sync(user_id, direction, SyncRun.Trigger.COMMAND)
        except SyncBusy:
            self.stdout.write(f"user {user_id} {direction}: already running elsewhere")
            return
        if not run:
            self.stdout.write(f"user {user_id} {direction}: not due (switch off, user inactive, or no connection)")
            return
        for one in run if isinstance(run, list) else [run]:
            self.stdout.write(
                f"{one.user.code} {one.direction}: {one.get_result_display()} — created {one.created}, "
                f"updated {one.updated}, deleted {one.deleted}, skipped {one.skipped}, failed {one.failed}, "
                f"{one.graph_requests} Graph requests{'; ' + one.error if one.error else ''}"
            )

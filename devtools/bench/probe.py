"""Child process of the memory scenario: one import, then its own peak RSS as JSON on stdout.

    python -m devtools.bench.probe contacts USER_ID

Peak RSS is VmHWM from /proc (getrusage's ru_maxrss elsewhere). Run by devtools.bench.imports
with DATABASE_URL pointing at the bench's throwaway database, so the parent's memory (emulator,
seeded mailboxes) never pollutes the figure.
"""

from __future__ import annotations

import json
import resource
import sys
import time


def peak_rss_kb() -> int:
    """This process's peak RSS. VmHWM belongs to the address space made by exec; ru_maxrss is
    carried over from the parent at fork on Linux, so a big parent would inflate it."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def main(argv: list[str]) -> None:
    import django

    django.setup()
    from accounts.models import User
    from exchange.sync.contacts import sync_contacts

    kind, user_id = argv
    if kind != "contacts":
        raise SystemExit(f"unknown probe: {kind}")
    user = User.objects.get(pk=int(user_id))
    setup_kb = peak_rss_kb()
    started = time.perf_counter()
    run = sync_contacts(user)
    seconds = time.perf_counter() - started
    items = run.created + run.updated + run.skipped
    print(
        json.dumps(
            {
                "seconds": seconds,
                "rate": items / seconds if seconds else 0.0,
                "setup_kb": setup_kb,
                "maxrss_kb": peak_rss_kb(),
                "result": run.result,
            }
        )
    )


if __name__ == "__main__":
    main(sys.argv[1:])

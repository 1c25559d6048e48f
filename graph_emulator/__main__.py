"""Command line: `python -m graph_emulator --port PORT [--host H] [--state FILE] …`.

Prints the Graph base URL, the authority, the CA file to trust and the Outlook page URL, then
serves until SIGINT/SIGTERM, saving the state file (when given) on the way out.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading

from .identity import ROLES
from .server import GraphEmulator


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command-line options."""
    parser = argparse.ArgumentParser(prog="python -m graph_emulator", description=__doc__)
    parser.add_argument("--port", type=int, required=True, help="TCP port (0 picks a free one)")
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--state", help="JSON file keeping mailboxes across restarts")
    parser.add_argument("--mailbox", action="append", default=[], help="create this mailbox (repeatable)")
    parser.add_argument("--tenant", default="prextra-demo")
    parser.add_argument("--client-id", default="prextra-sync-demo")
    parser.add_argument("--client-secret", default="demo-secret")
    parser.add_argument("--token-lifetime", type=int, default=3599, help="access token lifetime in seconds")
    parser.add_argument("--cert-dir", help="where the CA and server certificate live (default: beside --state)")
    parser.add_argument(
        "--role",
        action="append",
        dest="roles",
        help="an application permission the app holds, in its tokens' roles claim (repeatable; default: "
        f"{', '.join(ROLES)})",
    )
    parser.add_argument(
        "--notify-delay",
        type=float,
        default=1.0,
        help="seconds between a change and its change notification (default 1; changes within it share a POST)",
    )
    parser.add_argument(
        "--delta-lag",
        type=float,
        default=0.0,
        help="seconds before a change shows in delta rounds (Graph's processing delays; default 0)",
    )
    parser.add_argument(
        "--notify-ca-file",
        help="a CA file to trust for notification URLs, besides the system store and the emulator's own CA",
    )
    parser.add_argument("--seed-contacts", type=int, default=0, help="seed each --mailbox with N contacts if empty")
    parser.add_argument("--seed-events", type=int, default=0, help="seed each --mailbox with N events if empty")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Start the emulator and serve until interrupted."""
    args = parse_args(argv)
    stop = threading.Event()  # handlers first: a SIGTERM right after the banner must still save
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    emulator = GraphEmulator(
        host=args.host,
        port=args.port,
        state_file=args.state,
        tenant=args.tenant,
        client_id=args.client_id,
        client_secret=args.client_secret,
        token_lifetime=args.token_lifetime,
        cert_dir=args.cert_dir,
        mailboxes=args.mailbox,
        notify_delay=args.notify_delay,
        notify_ca_file=args.notify_ca_file,
        delta_lag=args.delta_lag,
    ).start()
    if args.roles is not None:
        emulator.set_roles(args.roles)
    for address in args.mailbox:
        mailbox = emulator.mailbox(address)
        if not mailbox.contacts and not mailbox.events and (args.seed_contacts or args.seed_events):
            emulator.seed(address, args.seed_contacts, args.seed_events, seed=1)
    print(f"Graph base URL:  {emulator.graph_url}")
    print(f"Authority:       {emulator.authority}")
    print(f"Client id:       {emulator.identity.client_id}")
    print(f"CA file:         {emulator.ca_file}")
    print(f"App roles:       {', '.join(emulator.identity.roles) or '(none: no admin consent)'}")
    print(f"Outlook page:    {emulator.outlook_url}")
    print(f"Control API:     {emulator.base_url}/_emulator/mailboxes")
    print(f"Notifications:   after {args.notify_delay:g} s; extra CA: {args.notify_ca_file or '(none)'}")
    sys.stdout.flush()
    stop.wait()
    emulator.stop()
    print("Emulator stopped; state saved." if args.state else "Emulator stopped.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""State file and command line: mailboxes survive a restart; the CLI prints what clients need.

The state is saved atomically (temp file + rename), debounced on changes and at shutdown;
delta tokens stay valid across a restart because they are self-contained and signed.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

from graph_emulator import GraphEmulator
from graph_emulator.testing import make_session, token_for

from .helpers import collect_delta, new_event

ROOT = Path(__file__).resolve().parents[2]


def test_state_survives_a_restart_with_ids_and_delta_tokens(tmp_path):
    """Contacts, events, ids and a deltaLink from before the restart all still work after it."""
    state = tmp_path / "demo.json"
    with GraphEmulator(state_file=state) as emulator, make_session(emulator.ca_file) as session:
        emulator.seed("demo@prextra-demo.ca", contacts=12, events=6, seed=1)
        session.headers["Authorization"] = f"Bearer {token_for(emulator, session)}"
        user = f"{emulator.graph_url}/users/{emulator.mailbox('demo@prextra-demo.ca').upn}"
        event = session.post(f"{user}/events", json=new_event()).json()
        _items, delta_link, _ = collect_delta(session, f"{user}/contacts/delta")
        ca_before = Path(emulator.ca_file).read_bytes()
    assert json.loads(state.read_text())["version"] == 1
    assert not list(tmp_path.glob("*.tmp"))  # the temporary file was renamed away
    with GraphEmulator(state_file=state) as emulator, make_session(emulator.ca_file) as session:
        assert Path(emulator.ca_file).read_bytes() == ca_before  # certificates kept beside the state
        session.headers["Authorization"] = f"Bearer {token_for(emulator, session)}"
        user = f"{emulator.graph_url}/users/{emulator.mailbox('demo@prextra-demo.ca').upn}"
        assert session.get(f"{user}/events/{event['id']}").json()["subject"] == "Rencontre"
        assert len(emulator.mailbox("demo@prextra-demo.ca").contacts) == 12
        session.post(f"{user}/contacts", json={"givenName": "Après"})
        port = emulator.port
        items, _link, _ = collect_delta(
            session, delta_link.replace(delta_link.split("/v1.0")[0], f"https://127.0.0.1:{port}")
        )
        assert [i["givenName"] for i in items] == ["Après"]


def test_changes_are_saved_without_a_shutdown(tmp_path):
    """Saves are debounced on change, so a crash loses at most the last moment."""
    state = tmp_path / "live.json"
    with GraphEmulator(state_file=state, save_delay=0.05) as emulator:
        emulator.seed("live@prextra-demo.ca", contacts=3)
        deadline = time.monotonic() + 5
        while not state.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert "live@prextra-demo.ca" in state.read_text()


def test_command_line_prints_urls_and_saves_on_sigterm(tmp_path):
    """`python -m graph_emulator` prints Graph URL, authority, CA file and Outlook page; SIGTERM saves."""
    state = tmp_path / "cli.json"
    command = [
        sys.executable,
        "-m",
        "graph_emulator",
        "--port",
        "0",
        "--state",
        str(state),
        "--mailbox",
        "cli@prextra-demo.ca",
        "--seed-contacts",
        "4",
    ]
    with subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, text=True) as process:
        lines = [process.stdout.readline() for _ in range(6)]
        process.send_signal(signal.SIGTERM)
        rest = process.stdout.read()
        assert process.wait(timeout=20) == 0
    printed = "".join(lines)
    for label in ("Graph base URL:", "Authority:", "CA file:", "Outlook page:"):
        assert label in printed
    assert "/v1.0" in printed and "/prextra-demo" in printed and "state saved" in rest
    saved = json.loads(state.read_text())
    assert [m["address"] for m in saved["mailboxes"]] == ["cli@prextra-demo.ca"]
    assert len(saved["mailboxes"][0]["contacts"]) == 4


def test_subscriptions_survive_a_restart_and_keep_notifying(tmp_path):
    """Graph keeps a subscription until it expires or is deleted: so does the state file. The
    restarted emulator answers its GET and notifies its URL; an expired one is not brought back."""
    from .receiver import Receiver, subscribe

    state = tmp_path / "demo.json"
    with GraphEmulator(state_file=state, notify_delay=0.1) as emulator, make_session(emulator.ca_file) as session:
        address = "demo@prextra-demo.ca"
        emulator.add_mailbox(address, upn=address)
        session.headers["Authorization"] = f"Bearer {token_for(emulator, session)}"
        folder = Path(emulator.ca_file).parent
        with Receiver(folder / "server.pem", folder / "server.key") as receiver:
            kept = subscribe(session, emulator, receiver, f"users/{address}/events").json()
            gone = subscribe(session, emulator, receiver, f"users/{address}/contacts").json()
            emulator.expire_subscription(gone["id"])
    with GraphEmulator(state_file=state, notify_delay=0.1) as emulator, make_session(emulator.ca_file) as session:
        session.headers["Authorization"] = f"Bearer {token_for(emulator, session)}"
        assert [sub["id"] for sub in emulator.subscriptions()] == [kept["id"]]
        assert session.get(f"{emulator.graph_url}/subscriptions/{kept['id']}").json()["clientState"] == "secret-état"
        folder = Path(emulator.ca_file).parent
        with Receiver(folder / "server.pem", folder / "server.key") as receiver:
            # The receiver listens on a new port: point the subscription at it (PATCH validates it).
            url = receiver.url("/notify")
            assert session.patch(f"{emulator.graph_url}/subscriptions/{kept['id']}", json={"notificationUrl": url}).ok
            session.post(f"{emulator.graph_url}/users/{address}/events", json=new_event("Après"))
            assert receiver.wait_items(1)[0]["subscriptionId"] == kept["id"]

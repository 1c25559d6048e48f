"""A running Graph emulator for the emulator's own tests, reached the way the product reaches Graph.

Clients use msal for the token and a requests.Session with trust_env=False and verify=<CA file>
(docs/graph-notes.md §0.8, §0.9): exactly the production path, nothing else changed.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from graph_emulator import GraphEmulator, tls
from graph_emulator.testing import SCOPE, make_app, make_session

from .receiver import Receiver


@pytest.fixture(scope="session")
def emulator():
    """One emulator for the whole run (tests isolate themselves with their own mailboxes)."""
    with GraphEmulator() as running:
        yield running


@pytest.fixture(scope="session")
def token(emulator):
    """An access token obtained through msal."""
    with make_session(emulator.ca_file) as session:
        result = make_app(emulator, session).acquire_token_for_client(SCOPE)
    return result["access_token"]


@pytest.fixture
def graph(emulator, token):
    """An authenticated Session, closed after the test."""
    with make_session(emulator.ca_file) as session:
        session.headers["Authorization"] = f"Bearer {token}"
        yield session


@pytest.fixture
def anonymous(emulator):
    """A Session without a token (control API, unauthenticated calls)."""
    with make_session(emulator.ca_file) as session:
        yield session


@pytest.fixture
def address(emulator):
    """A fresh, empty mailbox for this test, whose UPN is its SMTP address (so Graph URLs may name
    it by address; the product's tests use mailboxes whose UPN differs)."""
    mailbox = f"test.{uuid.uuid4().hex[:10]}@prextra-demo.ca"
    emulator.add_mailbox(mailbox, upn=mailbox)
    return mailbox


@pytest.fixture
def user_url(emulator, address):
    """The Graph URL of the test's mailbox (by userPrincipalName)."""
    return f"{emulator.graph_url}/users/{address}"


@pytest.fixture(autouse=True)
def _no_leftover_faults(emulator):
    """Faults armed by a test never leak into the next one."""
    yield
    emulator.clear_faults()


@pytest.fixture
def receiver(emulator):
    """An HTTPS endpoint for notifications, serving the emulator's own certificate (which the
    emulator trusts, its CA being part of its outgoing trust)."""
    folder = Path(emulator.ca_file).parent
    with Receiver(folder / tls.CERT_FILE, folder / tls.KEY_FILE) as running:
        yield running

"""Clients for tests and benchmarks: reach a running emulator exactly as the product reaches Graph.

msal for the token, one requests.Session that ignores REQUESTS_CA_BUNDLE (trust_env False) and
trusts the emulator's CA explicitly (docs/graph-notes.md §0.8, §0.9). The in-process server
itself is `graph_emulator.GraphEmulator`.
"""

from __future__ import annotations

import msal
import requests

from .server import GraphEmulator

SCOPE = ["https://graph.microsoft.com/.default"]


def make_session(ca_file: str) -> requests.Session:
    """A session that trusts the emulator's CA and nothing from the environment."""
    session = requests.Session()
    session.trust_env = False
    session.verify = ca_file
    return session


def make_app(emulator: GraphEmulator, session: requests.Session, secret: str | None = None, **kwargs):
    """An msal confidential client against the emulator's authority."""
    return msal.ConfidentialClientApplication(
        kwargs.pop("client_id", emulator.identity.client_id),
        client_credential=secret or emulator.identity.client_secret,
        authority=kwargs.pop("authority", emulator.authority),
        instance_discovery=False,
        http_client=session,
        timeout=10,
        **kwargs,
    )


def token_for(emulator: GraphEmulator, session: requests.Session) -> str:
    """An access token obtained through msal, as the product gets it."""
    return make_app(emulator, session).acquire_token_for_client(SCOPE)["access_token"]

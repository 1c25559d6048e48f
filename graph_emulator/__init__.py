"""A local, faithful stand-in for Microsoft Graph v1.0 (Outlook contacts and calendar) and Entra ID.

The product's production path (msal for tokens, requests for Graph) runs against it with only
the authority URL, the Graph base URL, the credentials and the CA file changed. It imports
nothing from Django.

    from graph_emulator import GraphEmulator

    with GraphEmulator() as emulator:
        emulator.add_mailbox("marie.tremblay@prextra-demo.ca")
        emulator.seed("marie.tremblay@prextra-demo.ca", contacts=100, events=20, seed=1)
        emulator.graph_url, emulator.authority, emulator.ca_file   # for the client settings

Run it alone with `python -m graph_emulator --port 8443` (see __main__.py).
"""

from __future__ import annotations

from .server import GraphEmulator

__all__ = ["GraphEmulator"]

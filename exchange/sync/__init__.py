"""Synchronization runs: contacts (Outlook → Prextra) and activities (both ways)."""

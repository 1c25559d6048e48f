"""Synchronization runs: contacts (Outlook → Prextra) and, later, activities (both ways)."""

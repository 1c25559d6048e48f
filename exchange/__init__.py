"""Synchronization with Microsoft 365 (Exchange / Outlook) through Microsoft Graph."""

"""Prextra Sync: the Outlook/Exchange synchronization of the Prextra CRM."""

from .celery import app as celery_app

__all__ = ("celery_app",)

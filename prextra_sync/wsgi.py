"""WSGI entry point (gunicorn prextra_sync.wsgi)."""

from __future__ import annotations

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "prextra_sync.settings")

application = get_wsgi_application()

"""App configuration for devtools: the demo data and the benchmark.

Installed in development and under the tests (settings.INSTALLED_APPS), absent in production:
a production site has no `load_demo`, `seed_demo_outlook` or `bench` command.
"""

from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DevtoolsConfig(AppConfig):
    name = "devtools"
    verbose_name = _("Outils de développement")

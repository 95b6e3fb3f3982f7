"""ASGI entry point of OLVF screen."""

from __future__ import annotations

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "olvf_web.settings")

application = get_asgi_application()

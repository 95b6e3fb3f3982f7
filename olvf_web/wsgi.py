"""WSGI entry point of OLVF screen (gunicorn olvf_web.wsgi)."""

from __future__ import annotations

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "olvf_web.settings")

application = get_wsgi_application()

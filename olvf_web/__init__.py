"""Django project of OLVF screen: settings, URLs, the Celery app and the WSGI/ASGI entry points."""

from __future__ import annotations

# Importing the Celery app here makes @shared_task use it in every process that loads Django.
from olvf_web.celery import app as celery_app

__all__ = ["celery_app"]

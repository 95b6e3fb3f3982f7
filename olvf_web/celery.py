"""The Celery application of OLVF screen.

Workers start with ``celery -A olvf_web worker -Q inference,celery``. Settings
come from Django's settings under the ``CELERY_`` prefix.
"""

from __future__ import annotations

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "olvf_web.settings")

app = Celery("olvf_web")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

"""WSGI entry point of OLVF screen (gunicorn olvf_web.wsgi:application)."""

from __future__ import annotations

import logging
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "olvf_web.settings")

application = get_wsgi_application()


def _start_in_process_dispatcher() -> None:
    """Without a broker, start the dispatcher thread now and hand it the studies a previous process left QUEUED."""
    from screening.tasks import broker_configured, in_process_dispatcher

    if not broker_configured():
        in_process_dispatcher.start(recover=True)


def _warn_without_static_manifest() -> None:
    from django.conf import settings

    if not settings.DEBUG and not settings.STATIC_MANIFEST_PRESENT:
        logging.getLogger(__name__).warning(
            "no static files manifest in %s, so unhashed files are served from the source folders: "
            "run 'manage.py collectstatic' and restart the server",
            settings.STATIC_ROOT,
        )


_warn_without_static_manifest()
_start_in_process_dispatcher()

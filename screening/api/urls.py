"""URLs of the REST API, mounted under /api/."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver

# TODO: the study endpoints (upload, list, detail) are added here next; until then the API has only its schema.
urlpatterns: list[URLPattern | URLResolver] = []

"""URLs of the REST API, mounted under /api/."""

from __future__ import annotations

from django.urls import path

from screening.api import views

urlpatterns = [
    path("studies/", views.StudyListCreateView.as_view(), name="api-study-list"),
    path("studies/<int:pk>/", views.StudyDetailView.as_view(), name="api-study-detail"),
    path("studies/<int:pk>/original/", views.StudyOriginalView.as_view(), name="api-study-original"),
    path("studies/<int:pk>/files/<path:name>", views.StudyFileView.as_view(), name="api-study-file"),
]

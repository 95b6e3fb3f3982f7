"""URL configuration of OLVF screen."""

from __future__ import annotations

from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView

urlpatterns = [
    path("admin/", admin.site.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/", include("screening.api.urls")),
    path("api/", include("screening.api.statistics")),
    path("", include("screening.urls")),
    path("", include("screening.oversight_urls")),
]

handler400 = "olvf_web.error_views.bad_request"
handler403 = "olvf_web.error_views.permission_denied"
handler500 = "olvf_web.error_views.server_error"

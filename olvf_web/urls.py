"""URL configuration of OLVF screen."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest, HttpResponsePermanentRedirect
from django.templatetags.static import static
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView


def favicon(request: HttpRequest) -> HttpResponsePermanentRedirect:
    """Redirect /favicon.ico to the SVG icon in the static files."""
    return HttpResponsePermanentRedirect(static("favicon.svg"))


urlpatterns = [
    path("admin/", admin.site.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # Browsers request /favicon.ico for pages that link no icon, such as the admin and the API.
    path("favicon.ico", favicon, name="favicon"),
    path("api/", include("screening.api.urls")),
    path("api/", include("screening.api.statistics")),
    path("", include("screening.urls")),
    path("", include("screening.oversight_urls")),
]

handler400 = "olvf_web.error_views.bad_request"
handler403 = "olvf_web.error_views.permission_denied"
handler500 = "olvf_web.error_views.server_error"

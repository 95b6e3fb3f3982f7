"""The Japanese font of the charts, served from the installed package so clinics need no CJK font."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import FileResponse, HttpRequest
from django.views.decorators.http import require_GET

from screening.services.reports import japanese_font_path

# The font changes only with the japanize-matplotlib version, so browsers may keep it for a week.
FONT_CACHE_SECONDS = 7 * 24 * 3600


@login_required
@require_GET
def chart_font(request: HttpRequest) -> FileResponse:
    """Send IPAexGothic (from the japanize-matplotlib package) for the chart labels."""
    response = FileResponse(japanese_font_path().open("rb"), content_type="font/ttf")
    response["Cache-Control"] = f"private, max-age={FONT_CACHE_SECONDS}"
    return response

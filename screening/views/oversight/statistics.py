"""Statistics for managers: aggregates only, as a page with charts and as CSV."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _

from screening.models import AuditEvent, Study
from screening.services.audit import record_event
from screening.services.statistics import compute_statistics, report_to_csv
from screening.views.oversight.access import statistics_role_required
from screening.views.oversight.forms import DateRangeForm


def _date_range(request: HttpRequest) -> tuple[DateRangeForm, dict]:
    form = DateRangeForm(request.GET or None)
    valid = form.is_valid() if request.GET else True
    dates = form.cleaned_data if request.GET and valid else {}
    return form, {"date_from": dates.get("date_from"), "date_to": dates.get("date_to")}


def _chart_labels() -> dict[str, Any]:
    """Return the translated labels that the chart script shows."""
    return {
        "studies": _("Number of studies"),
        "empty": _("No data in this range."),
        "results": {
            "mri_recommended": _("MRI recommended"),
            "no_fresh_fracture_found": _("No fresh fracture found"),
            "not_assessable": _("Not assessable"),
        },
        "classes": {"normal": _("Normal"), "old": _("Old fracture"), "fresh": _("Fresh fracture")},
    }


@statistics_role_required
def statistics_page(request: HttpRequest) -> HttpResponse:
    """Show the statistics over the chosen date range, overall and by bundle version."""
    form, dates = _date_range(request)
    report = compute_statistics(**dates)
    record_event(
        AuditEvent.Action.STATISTICS_VIEW,
        request=request,
        details={key: value.isoformat() if value else None for key, value in dates.items()},
    )
    context = {
        "form": form,
        "report": report,
        "chart_data": report.to_dict(),
        "chart_labels": _chart_labels(),
        "status_labels": dict(Study.Status.choices),
        "query": request.GET.urlencode(),
    }
    return render(request, "oversight/statistics.html", context)


@statistics_role_required
def statistics_csv(request: HttpRequest) -> HttpResponse:
    """Send the statistics over the chosen date range as CSV."""
    _, dates = _date_range(request)
    report = compute_statistics(**dates)
    record_event(
        AuditEvent.Action.EXPORT,
        request=request,
        details={"export": "statistics_csv", **{k: v.isoformat() if v else None for k, v in dates.items()}},
    )
    response = HttpResponse(report_to_csv(report), content_type="text/csv; charset=utf-8")
    stamp = timezone.localdate().strftime("%Y%m%d")
    response["Content-Disposition"] = f'attachment; filename="olvf-statistics-{stamp}.csv"'
    return response

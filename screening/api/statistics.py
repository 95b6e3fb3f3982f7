"""Statistics in the REST API for managers and admins: aggregates only, as JSON or CSV."""

from __future__ import annotations

from typing import Any

from django.http import HttpResponse
from django.urls import path
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from screening.models import AuditEvent
from screening.permissions import IsManagerOrAdmin
from screening.services.audit import record_event
from screening.services.statistics import compute_statistics, report_to_csv


class StatisticsQuerySerializer(serializers.Serializer):
    """Optional local date range of the uploads to include, both ends inclusive."""

    date_from = serializers.DateField(required=False)
    date_to = serializers.DateField(required=False)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        start, end = attrs.get("date_from"), attrs.get("date_to")
        if start and end and start > end:
            raise serializers.ValidationError({"date_to": _("date_to must not be before date_from.")})
        return attrs


_DATE_PARAMETERS = [
    OpenApiParameter("date_from", OpenApiTypes.DATE, description="First upload date (local), inclusive."),
    OpenApiParameter("date_to", OpenApiTypes.DATE, description="Last upload date (local), inclusive."),
]


def _dates(request: Request) -> dict[str, Any]:
    query = StatisticsQuerySerializer(data=request.query_params)
    query.is_valid(raise_exception=True)
    return {
        "date_from": query.validated_data.get("date_from"),
        "date_to": query.validated_data.get("date_to"),
    }


class StatisticsView(APIView):
    """Return every statistic over the date range, overall and by bundle version."""

    permission_classes = [IsManagerOrAdmin]

    @extend_schema(
        operation_id="statistics_retrieve",
        tags=["statistics"],
        parameters=_DATE_PARAMETERS,
        responses={200: OpenApiTypes.OBJECT},
    )
    def get(self, request: Request) -> Response:
        dates = _dates(request)
        report = compute_statistics(**dates)
        record_event(AuditEvent.Action.API_ACCESS, request=request, details={"endpoint": "statistics"})
        return Response(report.to_dict())


class StatisticsCsvView(APIView):
    """Return the statistics over the date range as CSV, one figure per row."""

    permission_classes = [IsManagerOrAdmin]

    @extend_schema(
        operation_id="statistics_csv_retrieve",
        tags=["statistics"],
        parameters=_DATE_PARAMETERS,
        responses={(200, "text/csv"): OpenApiTypes.STR},
    )
    def get(self, request: Request) -> HttpResponse:
        dates = _dates(request)
        report = compute_statistics(**dates)
        record_event(AuditEvent.Action.EXPORT, request=request, details={"export": "statistics_csv_api"})
        response = HttpResponse(report_to_csv(report), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = 'attachment; filename="olvf-statistics.csv"'
        return response


urlpatterns = [
    path("statistics/", StatisticsView.as_view(), name="api-statistics"),
    path("statistics.csv", StatisticsCsvView.as_view(), name="api-statistics-csv"),
]

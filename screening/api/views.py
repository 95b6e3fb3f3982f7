"""Views of the REST API: each parses input, calls one service and serializes the result."""

from __future__ import annotations

from django.conf import settings
from django.http import FileResponse
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.generics import GenericAPIView
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from screening.api.serializers import (
    StudyDetailSerializer,
    StudyFilterSerializer,
    StudyListSerializer,
    StudyUploadSerializer,
    UploadResultSerializer,
)
from screening.errors import UploadRejected
from screening.models import AuditEvent, Study
from screening.permissions import IsClinicianOrAdmin
from screening.services import files
from screening.services.audit import record_event
from screening.services.ingest import ingest_upload, patient_details_from_dict
from screening.services.studies import filters_for_audit, get_study, list_studies
from screening.units import format_bytes

# Multipart overhead allowed above OLVF_MAX_UPLOAD_BYTES in the declared request length.
_MULTIPART_SLACK_BYTES = 1024 * 1024

ERROR_RESPONSE = OpenApiResponse(description="code and detail (the reason in the request's language)")


class StudyListCreateView(GenericAPIView):
    """List studies (newest first, filtered) and upload a radiograph as a new study."""

    permission_classes = [IsAuthenticated, IsClinicianOrAdmin]
    parser_classes = [MultiPartParser, FormParser]
    serializer_class = StudyListSerializer
    queryset = Study.objects.none()  # for the schema only; get() queries through the studies service

    @extend_schema(parameters=[StudyFilterSerializer], responses=StudyListSerializer(many=True))
    def get(self, request: Request) -> Response:
        parameters = StudyFilterSerializer(data=request.query_params)
        parameters.is_valid(raise_exception=True)
        filters = parameters.to_filters()
        page = self.paginate_queryset(list_studies(filters))
        details = {"api": True, "filters": filters_for_audit(filters), "count": len(page or [])}
        record_event(AuditEvent.Action.STUDY_LIST_VIEW, request=request, details=details)
        return self.get_paginated_response(StudyListSerializer(page, many=True).data)

    @extend_schema(
        request={"multipart/form-data": StudyUploadSerializer},
        responses={
            201: UploadResultSerializer,
            200: OpenApiResponse(UploadResultSerializer, description="the same file was uploaded before"),
            400: ERROR_RESPONSE,
        },
    )
    def post(self, request: Request) -> Response:
        _reject_oversized_request(request)
        upload = StudyUploadSerializer(data=request.data)
        upload.is_valid(raise_exception=True)
        patient = patient_details_from_dict(upload.validated_data)
        outcome = ingest_upload(
            upload.validated_data["file"],
            user=request.user,
            patient=patient,
            facing=upload.validated_data.get("facing") or None,
            request=request,
        )
        study = get_study(outcome.study.pk)
        conflict = outcome.facing_conflict
        body = {
            "duplicate": outcome.duplicate,
            "study": StudyDetailSerializer(study).data,
            "facing_conflict": {**conflict.to_dict(), "message": conflict.message()} if conflict else None,
        }
        if outcome.duplicate:
            return Response(body, status=status.HTTP_200_OK)
        if outcome.failed:
            # The original is kept as a FAILED study; the client gets the reason and the study's id.
            detail = body["study"]["failure"]
            return Response({**body, "code": detail["code"], "detail": detail["message"]}, status=400)
        return Response(body, status=status.HTTP_201_CREATED)


class StudyDetailView(GenericAPIView):
    """One study: its status, radiograph, current run and findings."""

    permission_classes = [IsAuthenticated, IsClinicianOrAdmin]
    serializer_class = StudyDetailSerializer

    @extend_schema(responses={200: StudyDetailSerializer, 404: ERROR_RESPONSE})
    def get(self, request: Request, pk: int) -> Response:
        study = get_study(pk)
        record_event(AuditEvent.Action.REPORT_VIEW, request=request, obj=study, details={"api": True})
        return Response(StudyDetailSerializer(study).data)


class StudyOriginalView(GenericAPIView):
    """The original file of a study, byte for byte as uploaded."""

    permission_classes = [IsAuthenticated, IsClinicianOrAdmin]

    @extend_schema(responses={(200, "application/octet-stream"): bytes, 404: ERROR_RESPONSE})
    def get(self, request: Request, pk: int) -> FileResponse:
        stored = files.open_original(pk, user=request.user, request=request)
        return _file_response(stored)


class StudyFileView(GenericAPIView):
    """An overlay or crop that a run of the study recorded."""

    permission_classes = [IsAuthenticated, IsClinicianOrAdmin]

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "name", str, OpenApiParameter.PATH, description="path relative to the media root"
            )
        ],
        responses={(200, "image/png"): bytes, 404: ERROR_RESPONSE},
    )
    def get(self, request: Request, pk: int, name: str) -> FileResponse:
        stored = files.open_run_file(pk, name, user=request.user, request=request)
        return _file_response(stored)


def _file_response(stored: files.StoredFile) -> FileResponse:
    response = FileResponse(
        stored.path.open("rb"),
        content_type=stored.content_type,
        as_attachment=True,
        filename=stored.download_name,
    )
    response["Cache-Control"] = "private, no-store"
    return response


def _reject_oversized_request(request: Request) -> None:
    """Reject a request whose declared length is over the upload limit before the serializer reads the file.

    NOTE: with session authentication, DRF's CSRF check has already made Django
    parse the multipart body into temporary files; only token requests are
    rejected unread.
    """
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    max_bytes = int(settings.OLVF_MAX_UPLOAD_BYTES)
    if length > max_bytes + _MULTIPART_SLACK_BYTES:
        limit = format_bytes(max_bytes)
        raise UploadRejected(
            f"The file is larger than the limit of {limit}. Export the radiograph at a smaller size.",
            f"ファイルが上限 {limit} を超えています。より小さいサイズで画像を書き出してください。",
        )

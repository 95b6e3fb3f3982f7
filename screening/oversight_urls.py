"""URLs of the oversight pages, under the "oversight" namespace."""

from __future__ import annotations

from django.urls import include, path

from screening.views.oversight import audit, bundles, fonts, reports, review, statistics

oversight_patterns = [
    path("findings/<int:finding_id>/review/", review.review_create, name="review_create"),
    path("studies/<int:study_id>/mri-outcome/", review.outcome_create, name="outcome_create"),
    path("studies/<int:study_id>/report.pdf", reports.report_pdf, name="report_pdf"),
    path("studies/<int:study_id>/trace/", audit.trace_page, name="trace"),
    path("studies/<int:study_id>/trace.json", audit.trace_json, name="trace_json"),
    path("studies/<int:study_id>/rerun/", bundles.study_rerun, name="study_rerun"),
    path("statistics/", statistics.statistics_page, name="statistics"),
    path("statistics.csv", statistics.statistics_csv, name="statistics_csv"),
    path("fonts/ipaexgothic.ttf", fonts.chart_font, name="chart_font"),
    path("audit/", audit.audit_page, name="audit"),
    path("audit.csv", audit.audit_csv, name="audit_csv"),
    path("audit/verify/", audit.audit_verify, name="audit_verify"),
    path("bundles/", bundles.bundle_list, name="bundle_list"),
    path("bundles/install/", bundles.bundle_install, name="bundle_install"),
    path("bundles/<int:bundle_id>/", bundles.bundle_detail, name="bundle_detail"),
    path("bundles/<int:bundle_id>/activate/", bundles.bundle_activate, name="bundle_activate"),
]

urlpatterns = [path("", include((oversight_patterns, "oversight")))]

"""Statistics read from the database: current runs, newest reviews and outcomes, date range."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from screening.services.review import record_mri_outcome, record_review
from screening.services.statistics import collect_study_facts, compute_statistics
from tests.screening.oversight.factories import make_bundle, make_run, make_study, make_user

pytestmark = pytest.mark.django_db

TOKYO = ZoneInfo("Asia/Tokyo")


@pytest.fixture
def clinician_user():
    return make_user("dr-stats", "clinician")


def test_facts_use_newest_review_and_outcome(clinician_user):
    study = make_study(classes=("normal", "fresh"))
    fresh = study.current_run.findings.get(level="L2")
    record_review(fresh.pk, reviewer=clinician_user, agrees=True)
    record_review(fresh.pk, reviewer=clinician_user, agrees=False, corrected_class="old")
    record_mri_outcome(study.pk, recorded_by=clinician_user, mri_done=True, fresh_levels=["L2"])
    record_mri_outcome(study.pk, recorded_by=clinician_user, mri_done=True, fresh_levels=[])

    [facts] = collect_study_facts()

    assert facts.result_status == "mri_recommended"
    assert facts.bundle_version == "olvf-demo 2026.12.04"
    assert [(v.level, v.model_class, v.clinician_class) for v in facts.vertebrae] == [
        ("L1", "normal", None),
        ("L2", "fresh", "old"),
    ]
    assert facts.mri_fresh is False
    assert facts.reported_at - facts.uploaded_at == dt.timedelta(minutes=2)


def test_facts_follow_current_run_after_rerun():
    study = make_study(classes=("fresh",))
    second = make_bundle(version="2026.12.05")
    make_run(
        study,
        second,
        classes=("normal",),
        result_status="no_fresh_fracture_found",
        report_after=dt.timedelta(hours=1),
    )

    [facts] = collect_study_facts()

    assert facts.bundle_version == "olvf-demo 2026.12.05"
    assert facts.result_status == "no_fresh_fracture_found"
    # Upload-to-report time counts to the first report, not to the re-run.
    assert facts.reported_at - facts.uploaded_at == dt.timedelta(minutes=2)


def test_statistics_date_range_is_local_and_inclusive():
    # 15:30 UTC on 1 December is 00:30 on 2 December in Tokyo.
    make_study(created_at=dt.datetime(2026, 12, 1, 14, 30, tzinfo=dt.UTC))
    make_study(created_at=dt.datetime(2026, 12, 1, 15, 30, tzinfo=dt.UTC))
    make_study(created_at=dt.datetime(2026, 12, 3, 14, 59, tzinfo=dt.UTC))

    report = compute_statistics(date_from=dt.date(2026, 12, 2), date_to=dt.date(2026, 12, 3), tz=TOKYO)

    assert report.overall.studies == 2
    assert report.overall.studies_by_period["day"] == {"2026-12-02": 1, "2026-12-03": 1}


def test_statistics_count_queued_study_without_bundle():
    make_study(status="queued")
    make_study(result_status="not_assessable", classes=())

    report = compute_statistics(tz=TOKYO)

    assert report.overall.studies == 2
    assert report.overall.studies_by_status["queued"] == 1
    assert report.overall.not_assessable_share == 1.0
    assert list(report.by_bundle) == ["olvf-demo 2026.12.04"]
    assert report.by_bundle["olvf-demo 2026.12.04"].studies == 1


def test_statistics_have_no_patient_names():
    make_study(patient_name="Suzuki Hanako")

    report = compute_statistics(tz=TOKYO)

    assert "Suzuki" not in str(report.to_dict())


def test_collect_facts_query_count_is_constant(django_assert_num_queries):
    for _ in range(3):
        make_study()

    with django_assert_num_queries(4):
        collect_study_facts()

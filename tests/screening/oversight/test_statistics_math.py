"""Statistics figures against small cases computed by hand."""

from __future__ import annotations

import csv
import datetime as dt
import io
from zoneinfo import ZoneInfo

import pytest

from screening.services.statistics import (
    StudyFacts,
    VertebraFacts,
    agreement,
    build_report,
    cohen_kappa,
    count_by_period,
    flag_performance,
    one_vs_rest_kappa,
    percentile,
    report_to_csv,
    summarise,
    turnaround,
)

TOKYO = ZoneInfo("Asia/Tokyo")
UTC = dt.UTC

# 10 vertebrae as (clinician, model). Observed agreement 7/10; clinician marginals
# normal 5, old 2, fresh 3; model marginals normal 6, old 3, fresh 1.
THREE_CLASS_PAIRS = (
    [("normal", "normal")] * 4
    + [("old", "old")] * 2
    + [("fresh", "fresh")]
    + [("normal", "old")]
    + [("fresh", "normal")] * 2
)


def test_kappa_two_categories_textbook_case():
    # 2x2 table 20 / 5 / 10 / 15: p_o = 0.7, p_e = 0.5 * 0.6 + 0.5 * 0.4 = 0.5, kappa = 0.4.
    pairs = [("yes", "yes")] * 20 + [("yes", "no")] * 5 + [("no", "yes")] * 10 + [("no", "no")] * 15
    assert cohen_kappa(pairs) == pytest.approx(0.4)


def test_kappa_three_classes_by_hand():
    # p_e = (5*6 + 2*3 + 3*1) / 100 = 0.39, kappa = (0.7 - 0.39) / 0.61.
    assert cohen_kappa(THREE_CLASS_PAIRS) == pytest.approx(0.31 / 0.61)


def test_kappa_one_vs_rest_fresh_by_hand():
    # Binary table: both fresh 1, clinician only 2, model only 0, neither 7.
    # p_o = 0.8, p_e = (3*1 + 7*9) / 100 = 0.66, kappa = 0.14 / 0.34.
    assert one_vs_rest_kappa(THREE_CLASS_PAIRS, "fresh") == pytest.approx(0.14 / 0.34)


def test_kappa_one_vs_rest_old_by_hand():
    # Binary table: both old 2, clinician only 0, model only 1, neither 7.
    # p_o = 0.9, p_e = (2*3 + 8*7) / 100 = 0.62, kappa = 0.28 / 0.38.
    assert one_vs_rest_kappa(THREE_CLASS_PAIRS, "old") == pytest.approx(0.28 / 0.38)


def test_kappa_matches_scikit_learn():
    from sklearn.metrics import cohen_kappa_score

    clinician = [c for c, _ in THREE_CLASS_PAIRS]
    model = [m for _, m in THREE_CLASS_PAIRS]
    assert cohen_kappa(THREE_CLASS_PAIRS) == pytest.approx(cohen_kappa_score(clinician, model))


def test_kappa_undefined_without_pairs_or_variation():
    assert cohen_kappa([]) is None
    assert cohen_kappa([("normal", "normal")] * 5) is None


def test_agreement_reports_overall_and_per_class():
    result = agreement(THREE_CLASS_PAIRS)

    assert result.reviewed_vertebrae == 10
    assert result.observed_agreement == pytest.approx(0.7)
    assert result.kappa == pytest.approx(0.31 / 0.61)
    assert set(result.kappa_by_class) == {"normal", "old", "fresh"}
    assert result.kappa_by_class["fresh"] == pytest.approx(0.14 / 0.34)


def test_flag_performance_ppv_and_sensitivity():
    pairs = [(True, True)] * 3 + [(True, False)] + [(False, True)] + [(False, False)] * 5

    result = flag_performance(pairs)

    assert (result.true_positive, result.false_positive) == (3, 1)
    assert (result.false_negative, result.true_negative) == (1, 5)
    assert result.ppv == pytest.approx(0.75)
    assert result.sensitivity == pytest.approx(0.75)
    assert result.verified == 10


def test_flag_performance_undefined_without_positives():
    result = flag_performance([(False, False)])

    assert result.ppv is None
    assert result.sensitivity is None


def test_percentile_linear_interpolation():
    values = [50, 10, 40, 20, 30]

    assert percentile(values, 50) == pytest.approx(30)
    # Rank (5 - 1) * 0.95 = 3.8 between 40 and 50.
    assert percentile(values, 95) == pytest.approx(48)
    assert percentile(values, 0) == 10
    assert percentile(values, 100) == 50
    assert percentile([], 50) is None


def test_percentile_rejects_out_of_range():
    with pytest.raises(ValueError, match="out of range"):
        percentile([1.0], 101)


def test_turnaround_p50_and_p95():
    result = turnaround([60.0, 120.0, 180.0, 240.0])

    assert result.count == 4
    assert result.p50_seconds == pytest.approx(150.0)
    # Rank 3 * 0.95 = 2.85 between 180 and 240.
    assert result.p95_seconds == pytest.approx(231.0)


def test_count_by_period_uses_local_time_zone():
    # 16:00 UTC on 30 November is 01:00 on 1 December (a Tuesday) in Tokyo.
    moments = [
        dt.datetime(2026, 11, 30, 16, 0, tzinfo=UTC),
        dt.datetime(2026, 11, 30, 14, 0, tzinfo=UTC),
        dt.datetime(2026, 12, 4, 1, 0, tzinfo=UTC),
    ]

    assert count_by_period(moments, "day", TOKYO) == {
        dt.date(2026, 11, 30): 1,
        dt.date(2026, 12, 1): 1,
        dt.date(2026, 12, 4): 1,
    }
    assert count_by_period(moments, "week", TOKYO) == {dt.date(2026, 11, 30): 3}
    assert count_by_period(moments, "month", TOKYO) == {dt.date(2026, 11, 1): 1, dt.date(2026, 12, 1): 2}


def test_count_by_week_starts_on_local_monday():
    # Sunday 6 December at 14:30 UTC is still Sunday in Tokyo; at 15:30 UTC it is Monday 7 December there.
    moments = [dt.datetime(2026, 12, 6, 14, 30, tzinfo=UTC), dt.datetime(2026, 12, 6, 15, 30, tzinfo=UTC)]

    assert count_by_period(moments, "week", TOKYO) == {dt.date(2026, 11, 30): 1, dt.date(2026, 12, 7): 1}
    assert count_by_period(moments, "week", UTC) == {dt.date(2026, 11, 30): 2}


def _facts(
    study_id: int,
    *,
    result: str | None,
    bundle: str = "demo 1",
    mri_fresh: bool | None = None,
    minutes: float | None = None,
    vertebrae: tuple[VertebraFacts, ...] = (),
) -> StudyFacts:
    uploaded = dt.datetime(2026, 12, 1, 0, 0, tzinfo=UTC)
    return StudyFacts(
        study_id=study_id,
        uploaded_at=uploaded,
        status="done" if result else "queued",
        bundle_version=bundle if result else "",
        result_status=result,
        reported_at=uploaded + dt.timedelta(minutes=minutes) if minutes is not None else None,
        vertebrae=vertebrae,
        mri_fresh=mri_fresh,
    )


def test_summarise_rates_exclude_unfinished_studies():
    facts = [
        _facts(1, result="mri_recommended", minutes=1),
        _facts(2, result="no_fresh_fracture_found", minutes=2),
        _facts(3, result="not_assessable", minutes=3),
        _facts(4, result="mri_recommended", minutes=4),
        _facts(5, result=None),
    ]

    section = summarise(facts, TOKYO)

    assert section.studies == 5
    assert section.studies_by_status == {"queued": 1, "running": 0, "done": 4, "failed": 0}
    assert section.mri_recommended_rate == pytest.approx(0.5)
    assert section.not_assessable_share == pytest.approx(0.25)
    assert section.turnaround.p50_seconds == pytest.approx(150.0)


def test_summarise_flag_ignores_not_assessable_and_unverified():
    facts = [
        _facts(1, result="mri_recommended", mri_fresh=True),
        _facts(2, result="mri_recommended", mri_fresh=False),
        _facts(3, result="no_fresh_fracture_found", mri_fresh=True),
        _facts(4, result="not_assessable", mri_fresh=True),
        _facts(5, result="mri_recommended", mri_fresh=None),
    ]

    flag = summarise(facts, TOKYO).flag

    assert flag.verified == 3
    assert flag.ppv == pytest.approx(0.5)
    assert flag.sensitivity == pytest.approx(0.5)


def test_summarise_counts_vertebrae_and_reviews():
    vertebrae = (
        VertebraFacts("L1", "normal", "normal"),
        VertebraFacts("L2", "fresh", "old"),
        VertebraFacts("L3", "normal"),
    )
    section = summarise([_facts(1, result="mri_recommended", vertebrae=vertebrae)], TOKYO)

    assert section.vertebrae_by_class == {"normal": 2, "old": 0, "fresh": 1}
    assert section.vertebrae_by_level_and_class["L2"] == {"normal": 0, "old": 0, "fresh": 1}
    assert section.agreement.reviewed_vertebrae == 2
    assert section.agreement.observed_agreement == pytest.approx(0.5)


def test_report_groups_by_bundle_version():
    facts = [
        _facts(1, result="mri_recommended", bundle="demo 1"),
        _facts(2, result="no_fresh_fracture_found", bundle="demo 2"),
        _facts(3, result="no_fresh_fracture_found", bundle="demo 2"),
        _facts(4, result=None),
    ]

    report = build_report(facts, tz=TOKYO)

    assert report.overall.studies == 4
    assert set(report.by_bundle) == {"demo 1", "demo 2"}
    assert report.by_bundle["demo 2"].studies == 2
    assert report.by_bundle["demo 1"].mri_recommended_rate == 1.0


def test_report_csv_is_long_form_with_empty_undefined_values():
    report = build_report([_facts(1, result="not_assessable", bundle="demo 1")], tz=TOKYO)

    rows = list(csv.reader(io.StringIO(report_to_csv(report))))

    assert rows[0] == ["group", "metric", "key", "value"]
    assert ["all", "studies", "", "1"] in rows
    assert ["all", "agreement", "kappa", ""] in rows
    assert ["all", "not_assessable_share", "", "1.0"] in rows
    assert {row[0] for row in rows[1:]} == {"all", "bundle demo 1"}

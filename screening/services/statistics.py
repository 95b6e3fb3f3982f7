"""Aggregate statistics for managers: volumes, rates, flag performance, agreement, turnaround.

The figures are computed in two steps. ``collect_study_facts`` reads one
``StudyFacts`` row per study from the database (no patient identifiers), and
the pure functions below turn a sequence of facts into a ``StatisticsSection``.
``compute_statistics`` does both, once for all studies in the date range and
once per bundle version, so every figure is also available by bundle.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Literal

from django.db.models import Min, Q
from django.utils import timezone

from inference.result import CLASSES, LUMBAR_LEVELS
from screening.models import AnalysisRun, MRIOutcome, Study, VertebraFinding, VertebraReview

Period = Literal["day", "week", "month"]
PERIODS: tuple[Period, ...] = ("day", "week", "month")
STUDY_STATUSES: tuple[str, ...] = ("queued", "running", "done", "failed")
RESULT_STATUSES: tuple[str, ...] = ("mri_recommended", "no_fresh_fracture_found", "not_assessable")
NO_BUNDLE = ""  # bundle label of studies that have no finished run yet


# ---------------------------------------------------------------------------
# Inputs


@dataclass(frozen=True)
class VertebraFacts:
    """The model's class for one vertebra and, when reviewed, the clinician's current class.

    ``model_class`` is the most likely class (argmax). ``reaches_fresh_threshold`` is True when the
    ensemble fresh probability reaches the run's threshold, which is what the MRI flag counts.
    """

    level: str
    model_class: str
    clinician_class: str | None = None
    reaches_fresh_threshold: bool = False


@dataclass(frozen=True)
class StudyFacts:
    """What the statistics need to know about one study; never a patient identifier.

    ``uploaded_at`` and ``reported_at`` are aware datetimes. ``result_status``
    is the current run's result, None while no run has finished. ``mri_fresh``
    is the recorded MRI truth. It is True when the newest outcome records that MRI
    was done and found at least one fresh level, and False when MRI was done and
    found none. It is None when no MRI outcome is recorded or MRI was not done.
    """

    study_id: int
    uploaded_at: dt.datetime
    status: str
    bundle_version: str = NO_BUNDLE
    result_status: str | None = None
    reported_at: dt.datetime | None = None
    vertebrae: tuple[VertebraFacts, ...] = ()
    mri_fresh: bool | None = None


# ---------------------------------------------------------------------------
# Pure building blocks


def rate(numerator: int, denominator: int) -> float | None:
    """Return numerator / denominator, or None when the denominator is zero."""
    if denominator == 0:
        return None
    return numerator / denominator


def period_start(moment: dt.datetime | dt.date, period: Period) -> dt.date:
    """Return the first day of the day, ISO week (Monday) or month that contains ``moment``."""
    day = moment.date() if isinstance(moment, dt.datetime) else moment
    if period == "day":
        return day
    if period == "week":
        return day - dt.timedelta(days=day.weekday())
    if period == "month":
        return day.replace(day=1)
    raise ValueError(f"Unknown period {period!r}: expected one of {', '.join(PERIODS)}.")


def count_by_period(moments: Iterable[dt.datetime], period: Period, tz: dt.tzinfo) -> dict[dt.date, int]:
    """Count aware datetimes per period, bucketed in the time zone ``tz``, oldest period first."""
    counts: Counter[dt.date] = Counter(period_start(moment.astimezone(tz), period) for moment in moments)
    return dict(sorted(counts.items()))


def percentile(values: Sequence[float], q: float) -> float | None:
    """Return the ``q``-th percentile (0..100) by linear interpolation between ranks.

    This is the default ("linear") method of numpy.percentile: the value at
    rank (n - 1) * q / 100 of the sorted data. Returns None for no values.
    """
    if not 0 <= q <= 100:
        raise ValueError(f"Percentile {q} is out of range: expected 0 to 100.")
    if not values:
        return None
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100
    lower = math.floor(position)
    upper = math.ceil(position)
    fraction = position - lower
    return ordered[lower] + (ordered[upper] - ordered[lower]) * fraction


def cohen_kappa(pairs: Sequence[tuple[str, str]]) -> float | None:
    """Return Cohen's kappa between the first and the second rater of each pair.

    kappa = (p_o - p_e) / (1 - p_e), with p_o the observed agreement and p_e
    the agreement expected from each rater's marginal frequencies. Returns
    None for no pairs, and also when p_e is 1 (both raters used one and the
    same category throughout), where kappa is undefined.
    """
    if not pairs:
        return None
    total = len(pairs)
    observed = sum(1 for first, second in pairs if first == second) / total
    first_counts = Counter(first for first, _ in pairs)
    second_counts = Counter(second for _, second in pairs)
    expected = sum(first_counts[c] * second_counts[c] for c in first_counts) / (total * total)
    if math.isclose(expected, 1.0):
        return None
    return (observed - expected) / (1 - expected)


def one_vs_rest_kappa(pairs: Sequence[tuple[str, str]], label: str) -> float | None:
    """Return Cohen's kappa for ``label`` against every other class combined."""
    binary = [(first == label, second == label) for first, second in pairs]
    return cohen_kappa([(str(a), str(b)) for a, b in binary])


@dataclass(frozen=True)
class FlagPerformance:
    """The MRI flag against recorded MRI outcomes (a confusion matrix and two ratios).

    Only studies with a recorded MRI result count. MRI is mostly done for
    flagged studies, so the observed sensitivity is biased upwards
    (verification bias), and the page states this beside the figure.
    """

    true_positive: int
    false_positive: int
    false_negative: int
    true_negative: int
    ppv: float | None
    sensitivity: float | None

    @property
    def verified(self) -> int:
        return self.true_positive + self.false_positive + self.false_negative + self.true_negative


def flag_performance(pairs: Iterable[tuple[bool, bool]]) -> FlagPerformance:
    """Compare (flagged, fresh on MRI) pairs: PPV = TP / (TP + FP), sensitivity = TP / (TP + FN)."""
    cells: Counter[tuple[bool, bool]] = Counter(pairs)
    tp, fp = cells[(True, True)], cells[(True, False)]
    fn, tn = cells[(False, True)], cells[(False, False)]
    return FlagPerformance(
        true_positive=tp,
        false_positive=fp,
        false_negative=fn,
        true_negative=tn,
        ppv=rate(tp, tp + fp),
        sensitivity=rate(tp, tp + fn),
    )


@dataclass(frozen=True)
class Turnaround:
    """Upload-to-report time in seconds over the studies that have a report."""

    count: int
    p50_seconds: float | None
    p95_seconds: float | None


def turnaround(durations_seconds: Sequence[float]) -> Turnaround:
    """Return the median and 95th percentile of the given durations."""
    return Turnaround(
        count=len(durations_seconds),
        p50_seconds=percentile(durations_seconds, 50),
        p95_seconds=percentile(durations_seconds, 95),
    )


@dataclass(frozen=True)
class Agreement:
    """Clinician-model agreement over reviewed vertebrae (Cohen's kappa)."""

    reviewed_vertebrae: int
    observed_agreement: float | None
    kappa: float | None
    kappa_by_class: dict[str, float | None]


def agreement(pairs: Sequence[tuple[str, str]]) -> Agreement:
    """Return overall and one-vs-rest kappa for (clinician class, model class) pairs."""
    agreeing = sum(1 for clinician, model in pairs if clinician == model)
    return Agreement(
        reviewed_vertebrae=len(pairs),
        observed_agreement=rate(agreeing, len(pairs)),
        kappa=cohen_kappa(pairs),
        kappa_by_class={label: one_vs_rest_kappa(pairs, label) for label in CLASSES},
    )


# ---------------------------------------------------------------------------
# One section of the statistics


@dataclass(frozen=True)
class StatisticsSection:
    """Every figure for one group of studies (all studies, or one bundle version)."""

    studies: int
    studies_by_period: dict[str, dict[str, int]]  # period -> ISO date of the period start -> count
    studies_by_status: dict[str, int]
    results_by_status: dict[str, int]
    not_assessable_share: float | None  # of studies with a finished run
    mri_recommended_rate: float | None  # of studies with a finished run
    vertebrae_by_class: dict[str, int]  # by most likely class
    vertebrae_at_fresh_threshold: int  # ensemble fresh probability at or above the run's threshold
    vertebrae_by_level_and_class: dict[str, dict[str, int]]
    flag: FlagPerformance
    agreement: Agreement
    turnaround: Turnaround

    def to_dict(self) -> dict[str, Any]:
        """Return the section as JSON-compatible data."""
        return asdict(self)


def _zero_counts(keys: Sequence[str], values: Iterable[str]) -> dict[str, int]:
    """Count ``values`` with every key of ``keys`` present (0 when unseen), unknown keys appended."""
    counts = {key: 0 for key in keys}
    for value in values:
        counts[value] = counts.get(value, 0) + 1
    return counts


def summarise(facts: Sequence[StudyFacts], tz: dt.tzinfo) -> StatisticsSection:
    """Compute every figure of a section from the facts of its studies."""
    by_period: dict[str, dict[str, int]] = {
        period: {
            day.isoformat(): n
            for day, n in count_by_period((f.uploaded_at for f in facts), period, tz).items()
        }
        for period in PERIODS
    }
    by_status = _zero_counts(STUDY_STATUSES, (f.status for f in facts))

    finished = [f for f in facts if f.result_status is not None]
    results = _zero_counts(RESULT_STATUSES, (f.result_status or "" for f in finished))

    vertebrae = [v for f in finished for v in f.vertebrae]
    by_class = _zero_counts(CLASSES, (v.model_class for v in vertebrae))
    by_level = {
        level: _zero_counts(CLASSES, (v.model_class for v in vertebrae if v.level == level))
        for level in LUMBAR_LEVELS
    }

    # A not-assessable study has no flag to judge, so it stays out of PPV and sensitivity.
    flag_pairs = [
        (f.result_status == "mri_recommended", f.mri_fresh)
        for f in finished
        if f.mri_fresh is not None and f.result_status != "not_assessable"
    ]
    review_pairs = [(v.clinician_class, v.model_class) for v in vertebrae if v.clinician_class is not None]
    durations = [
        (f.reported_at - f.uploaded_at).total_seconds() for f in finished if f.reported_at is not None
    ]

    return StatisticsSection(
        studies=len(facts),
        studies_by_period=by_period,
        studies_by_status=by_status,
        results_by_status=results,
        not_assessable_share=rate(results["not_assessable"], len(finished)),
        mri_recommended_rate=rate(results["mri_recommended"], len(finished)),
        vertebrae_by_class=by_class,
        vertebrae_at_fresh_threshold=sum(1 for v in vertebrae if v.reaches_fresh_threshold),
        vertebrae_by_level_and_class=by_level,
        flag=flag_performance(flag_pairs),  # type: ignore[arg-type]  # None was filtered out above
        agreement=agreement(review_pairs),  # type: ignore[arg-type]  # None was filtered out above
        turnaround=turnaround(durations),
    )


@dataclass(frozen=True)
class StatisticsReport:
    """The statistics over a date range: all studies and each bundle version separately."""

    date_from: dt.date | None
    date_to: dt.date | None
    time_zone: str
    overall: StatisticsSection
    by_bundle: dict[str, StatisticsSection] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Return the report as JSON-compatible data (dates as ISO strings)."""
        return {
            "date_from": self.date_from.isoformat() if self.date_from else None,
            "date_to": self.date_to.isoformat() if self.date_to else None,
            "time_zone": self.time_zone,
            "overall": self.overall.to_dict(),
            "by_bundle": {version: section.to_dict() for version, section in self.by_bundle.items()},
        }


def build_report(
    facts: Sequence[StudyFacts],
    *,
    tz: dt.tzinfo,
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
) -> StatisticsReport:
    """Summarise all facts and each bundle version's facts; studies without a run form no group."""
    groups: dict[str, list[StudyFacts]] = {}
    for fact in facts:
        if fact.bundle_version != NO_BUNDLE:
            groups.setdefault(fact.bundle_version, []).append(fact)
    return StatisticsReport(
        date_from=date_from,
        date_to=date_to,
        time_zone=str(tz),
        overall=summarise(facts, tz),
        by_bundle={version: summarise(group, tz) for version, group in sorted(groups.items())},
    )


# ---------------------------------------------------------------------------
# CSV


CSV_HEADER = ("group", "metric", "key", "value")


def _csv_rows(group: str, section: StatisticsSection) -> Iterable[tuple[str, str, str, Any]]:
    yield group, "studies", "", section.studies
    for period, counts in section.studies_by_period.items():
        for start, count in counts.items():
            yield group, f"studies_per_{period}", start, count
    for status, count in section.studies_by_status.items():
        yield group, "studies_by_status", status, count
    for status, count in section.results_by_status.items():
        yield group, "results_by_status", status, count
    yield group, "not_assessable_share", "", section.not_assessable_share
    yield group, "mri_recommended_rate", "", section.mri_recommended_rate
    for label, count in section.vertebrae_by_class.items():
        yield group, "vertebrae_by_class", label, count
    yield group, "vertebrae_at_fresh_threshold", "", section.vertebrae_at_fresh_threshold
    for level, counts in section.vertebrae_by_level_and_class.items():
        for label, count in counts.items():
            yield group, "vertebrae_by_level_and_class", f"{level}:{label}", count
    for name, value in asdict(section.flag).items():
        yield group, "mri_flag", name, value
    yield group, "agreement", "reviewed_vertebrae", section.agreement.reviewed_vertebrae
    yield group, "agreement", "observed_agreement", section.agreement.observed_agreement
    yield group, "agreement", "kappa", section.agreement.kappa
    for label, kappa in section.agreement.kappa_by_class.items():
        yield group, "agreement", f"kappa_{label}", kappa
    yield group, "turnaround", "count", section.turnaround.count
    yield group, "turnaround", "p50_seconds", section.turnaround.p50_seconds
    yield group, "turnaround", "p95_seconds", section.turnaround.p95_seconds


def report_to_csv(report: StatisticsReport) -> str:
    """Return the report as CSV in long form: one figure per row, empty value where undefined."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_HEADER)
    sections = [("all", report.overall)] + [(f"bundle {v}", s) for v, s in report.by_bundle.items()]
    for group, section in sections:
        for row in _csv_rows(group, section):
            writer.writerow(["" if value is None else value for value in row])
    return buffer.getvalue()


# ---------------------------------------------------------------------------
# Reading the facts from the database


def collect_study_facts(
    *, date_from: dt.date | None = None, date_to: dt.date | None = None, tz: dt.tzinfo | None = None
) -> list[StudyFacts]:
    """Read one ``StudyFacts`` per study uploaded in the local date range (inclusive), in four queries.

    NOTE: every study and finding in the range is held in memory at once. That
    is a few hundred bytes per vertebra, but a range of several years at a
    large site would call for aggregating in SQL instead.
    """
    tz = tz or timezone.get_current_timezone()
    studies = Study.objects.select_related("current_run").annotate(
        first_report_at=Min("runs__finished_at", filter=Q(runs__status="done"))
    )
    if date_from:
        studies = studies.filter(created_at__gte=dt.datetime.combine(date_from, dt.time.min, tzinfo=tz))
    if date_to:
        end = dt.datetime.combine(date_to + dt.timedelta(days=1), dt.time.min, tzinfo=tz)
        studies = studies.filter(created_at__lt=end)
    study_list = list(studies.order_by("id"))

    thresholds = {
        s.current_run_id: _fresh_threshold(s.current_run)
        for s in study_list
        if s.current_run is not None and s.current_run.status == "done"
    }
    findings = list(
        VertebraFinding.objects.filter(run_id__in=list(thresholds)).values_list(
            "id", "run_id", "level", "predicted_class", "ensemble_probabilities"
        )
    )
    reviewed: dict[int, str | None] = {}
    reviews = (
        VertebraReview.objects.filter(finding_id__in=[f[0] for f in findings])
        .order_by("finding_id", "-created_at", "-id")
        .values_list("finding_id", "agrees", "corrected_class")
    )
    for finding_id, agrees, corrected in reviews:
        if finding_id not in reviewed:
            reviewed[finding_id] = None if agrees else corrected

    vertebrae_by_run: dict[int, list[VertebraFacts]] = {}
    for finding_id, run_id, level, predicted, ensemble in findings:
        if finding_id in reviewed:
            clinician = reviewed[finding_id] or predicted
        else:
            clinician = None
        threshold = thresholds[run_id]
        reaches = threshold is not None and float((ensemble or {}).get("fresh", 0.0)) >= threshold
        vertebrae_by_run.setdefault(run_id, []).append(VertebraFacts(level, predicted, clinician, reaches))

    truth: dict[int, bool | None] = {}
    outcomes = (
        MRIOutcome.objects.filter(study_id__in=[s.pk for s in study_list])
        .order_by("study_id", "-recorded_at", "-id")
        .values_list("study_id", "mri_done", "fresh_levels")
    )
    for study_id, mri_done, fresh_levels in outcomes:
        if study_id not in truth:
            truth[study_id] = bool(fresh_levels) if mri_done else None

    return [_study_facts(study, vertebrae_by_run, truth) for study in study_list]


def _fresh_threshold(run: AnalysisRun) -> float | None:
    """Return the fresh threshold the run used, read the same way as the report page reads it."""
    bundle = (run.result or {}).get("bundle", {})
    threshold = (run.thresholds or {}).get("fresh", bundle.get("fresh_threshold"))
    return float(threshold) if threshold is not None else None


def _study_facts(
    study: Study, vertebrae_by_run: dict[int, list[VertebraFacts]], truth: dict[int, bool | None]
) -> StudyFacts:
    run = study.current_run
    facts = StudyFacts(
        study_id=study.pk,
        uploaded_at=study.created_at,
        status=study.status,
        reported_at=study.first_report_at,  # type: ignore[attr-defined]  # annotated in the query
        mri_fresh=truth.get(study.pk),
    )
    if run is None or run.status != "done":
        return facts
    return replace(
        facts,
        bundle_version=f"{run.bundle_name} {run.bundle_version}",
        result_status=run.result_status,
        vertebrae=tuple(vertebrae_by_run.get(run.pk, ())),
    )


def compute_statistics(
    *, date_from: dt.date | None = None, date_to: dt.date | None = None, tz: dt.tzinfo | None = None
) -> StatisticsReport:
    """Compute the statistics of the studies uploaded in the local date range (inclusive)."""
    tz = tz or timezone.get_current_timezone()
    facts = collect_study_facts(date_from=date_from, date_to=date_to, tz=tz)
    return build_report(facts, tz=tz, date_from=date_from, date_to=date_to)

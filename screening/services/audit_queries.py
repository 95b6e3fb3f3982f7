"""Read the audit trail: filters, CSV export, chain verification and the decision trace of a study."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
import logging
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol

from django.db.models import QuerySet
from django.utils import timezone

from screening.models import AnalysisRun, AuditChainHead, AuditEvent, MRIOutcome, Study, VertebraReview
from screening.services.audit import GENESIS_HASH, canonical_event_payload

logger = logging.getLogger(__name__)

# Header fields that identify the patient. The decision trace leaves them out, because it
# explains a model decision and is exported to people who need no identity.
_IDENTIFYING_HEADER_FIELDS = frozenset({"patient_name", "patient_birth_date"})

# Cells that spreadsheet programs read as formulas start with one of these characters.
_FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(value: Any) -> Any:
    """Return ``value`` with a leading quote when a spreadsheet would run it as a formula."""
    if isinstance(value, str) and value.startswith(_FORMULA_PREFIXES):
        return "'" + value
    return value


# ---------------------------------------------------------------------------
# Filters and CSV


@dataclass(frozen=True)
class AuditFilters:
    """Filters of the audit page; empty values do not filter. Dates are local and inclusive."""

    date_from: dt.date | None = None
    date_to: dt.date | None = None
    action: str = ""
    actor: str = ""  # username, exact match ignoring case
    object_type: str = ""
    object_id: str = ""
    address: str = ""


def _start_of_day(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


def filter_events(filters: AuditFilters) -> QuerySet[AuditEvent]:
    """Return the events that match ``filters``, newest first."""
    events = AuditEvent.objects.select_related("actor").order_by("-sequence")
    if filters.date_from:
        events = events.filter(created_at__gte=_start_of_day(filters.date_from))
    if filters.date_to:
        events = events.filter(created_at__lt=_start_of_day(filters.date_to + dt.timedelta(days=1)))
    if filters.action:
        events = events.filter(action=filters.action)
    if filters.actor:
        events = events.filter(actor_username__iexact=filters.actor)
    if filters.object_type:
        events = events.filter(object_type=filters.object_type)
    if filters.object_id:
        events = events.filter(object_id=filters.object_id)
    if filters.address:
        events = events.filter(address=filters.address)
    return events


AUDIT_CSV_HEADER = (
    "sequence",
    "created_at",
    "actor_username",
    "address",
    "action",
    "object_type",
    "object_id",
    "details",
    "previous_hash",
    "hash",
)


def _csv_line(values: Iterable[Any]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer).writerow([spreadsheet_safe(value) for value in values])
    return buffer.getvalue()


def events_to_csv(events: QuerySet[AuditEvent]) -> Iterator[str]:
    """Yield the CSV header and one line per event, reading the events in chunks."""
    yield _csv_line(AUDIT_CSV_HEADER)
    for event in events.iterator(chunk_size=2000):
        yield _csv_line(
            (
                event.sequence,
                # Local time (TIME_ZONE) with its UTC offset, matching the times on the audit page.
                timezone.localtime(event.created_at).isoformat(),
                event.actor_username,
                event.address or "",
                event.action,
                event.object_type,
                event.object_id,
                json.dumps(event.details, ensure_ascii=False, sort_keys=True),
                event.previous_hash,
                event.hash,
            )
        )


# ---------------------------------------------------------------------------
# Chain verification


class ChainedEvent(Protocol):
    """The fields of an audit event that verification reads."""

    sequence: int
    previous_hash: str
    hash: str


@dataclass(frozen=True)
class ChainProblem:
    """One break in the audit chain, named by the sequence number where it shows."""

    sequence: int
    kind: str  # "changed", "deleted" or "reordered"
    message: str


# Reordering is recognised by finding the sequence number under which an event's
# stored hash was computed; this many positions either side are tried.
REORDER_SEARCH_WINDOW = 1000


def verify_chain(
    events: Iterable[ChainedEvent],
    *,
    compute_hash: Callable[[ChainedEvent, int, str], str],
    genesis_hash: str,
    head: tuple[int, str] | None,
    find_sequence_by_hash: Callable[[str], int | None],
) -> list[ChainProblem]:
    """Check a chain of events given in ascending sequence order and return every break found.

    ``compute_hash(event, sequence, previous_hash)`` recomputes an event's hash
    as if it had that sequence and previous hash. ``head`` is the (sequence,
    hash) the chain head row stores, which reveals events deleted at the end.
    A changed row fails its own hash. A deleted row leaves a gap in the
    sequence numbers or a ``previous_hash`` that no event has. A reordered row
    fails its own hash but matches it at another sequence number, or links to
    an event that exists elsewhere in the chain.
    """
    problems: list[ChainProblem] = []
    previous: ChainedEvent | None = None
    previous_broken = False
    for event in events:
        expected_sequence = previous.sequence + 1 if previous else 1
        expected_link = previous.hash if previous else genesis_hash

        if event.sequence > expected_sequence:
            missing = _sequence_range(expected_sequence, event.sequence - 1)
            problems.append(
                ChainProblem(
                    event.sequence, "deleted", f"Events {missing} before event {event.sequence} are missing."
                )
            )

        own_hash_ok = compute_hash(event, event.sequence, event.previous_hash) == event.hash
        if not own_hash_ok:
            problems.append(_diagnose_hash_mismatch(event, compute_hash))
        elif (
            event.previous_hash != expected_link
            and not previous_broken
            and event.sequence == expected_sequence
        ):
            problems.append(_diagnose_broken_link(event, expected_sequence, find_sequence_by_hash))

        previous = event
        previous_broken = not own_hash_ok

    problems.extend(_check_head(previous, head))
    return problems


def _sequence_range(first: int, last: int) -> str:
    return str(first) if first == last else f"{first} to {last}"


def _diagnose_hash_mismatch(
    event: ChainedEvent, compute_hash: Callable[[ChainedEvent, int, str], str]
) -> ChainProblem:
    low = max(1, event.sequence - REORDER_SEARCH_WINDOW)
    for candidate in range(low, event.sequence + REORDER_SEARCH_WINDOW + 1):
        if candidate != event.sequence and compute_hash(event, candidate, event.previous_hash) == event.hash:
            return ChainProblem(
                event.sequence,
                "reordered",
                f"Event {event.sequence} was recorded as event {candidate}: its sequence number was changed.",
            )
    return ChainProblem(
        event.sequence,
        "changed",
        f"Event {event.sequence} was changed after it was recorded: its content no longer matches its hash.",
    )


def _diagnose_broken_link(
    event: ChainedEvent, expected_sequence: int, find_sequence_by_hash: Callable[[str], int | None]
) -> ChainProblem:
    linked = find_sequence_by_hash(event.previous_hash)
    if linked is not None:
        return ChainProblem(
            event.sequence,
            "reordered",
            f"Event {event.sequence} was recorded after event {linked}, not after event {expected_sequence - 1}.",
        )
    return ChainProblem(
        event.sequence,
        "deleted",
        f"The event recorded before event {event.sequence} no longer exists: "
        f"it was deleted, or event {expected_sequence - 1} was replaced with a rehashed copy.",
    )


def _check_head(last: ChainedEvent | None, head: tuple[int, str] | None) -> list[ChainProblem]:
    if head is None:
        return []
    head_sequence, head_hash = head
    last_sequence = last.sequence if last else 0
    if head_sequence > last_sequence:
        missing = _sequence_range(last_sequence + 1, head_sequence)
        return [
            ChainProblem(head_sequence, "deleted", f"Events {missing} at the end of the trail are missing.")
        ]
    if head_sequence < last_sequence:
        return [
            ChainProblem(
                last_sequence,
                "changed",
                f"Event {last_sequence} is newer than the chain head ({head_sequence}): "
                "it was inserted without going through the audit service.",
            )
        ]
    if last is not None and head_hash != last.hash:
        return [
            ChainProblem(
                last_sequence, "changed", f"Event {last_sequence} differs from the hash in the chain head."
            )
        ]
    return []


def _rehash(event: ChainedEvent, sequence: int, previous_hash: str) -> str:
    assert isinstance(event, AuditEvent)
    payload = canonical_event_payload(
        sequence=sequence,
        created_at=event.created_at,
        actor_id=event.actor_id,
        actor_username=event.actor_username,
        address=event.address,
        action=event.action,
        object_type=event.object_type,
        object_id=event.object_id,
        details=event.details,
        previous_hash=previous_hash,
    )
    return hashlib.sha256(payload).hexdigest()


def _find_sequence_by_hash(event_hash: str) -> int | None:
    return AuditEvent.objects.filter(hash=event_hash).values_list("sequence", flat=True).first()


def verify_audit_trail() -> list[ChainProblem]:
    """Check the whole stored audit trail against its hash chain; an empty list means it is intact."""
    head_row = AuditChainHead.objects.filter(pk=1).first()
    head = (head_row.last_sequence, head_row.last_hash) if head_row else None
    events = AuditEvent.objects.order_by("sequence").iterator(chunk_size=2000)
    problems = verify_chain(
        events,
        compute_hash=_rehash,
        genesis_hash=GENESIS_HASH,
        head=head,
        find_sequence_by_hash=_find_sequence_by_hash,
    )
    for problem in problems:
        logger.warning(
            "Audit chain broken at event %s: %s",
            problem.sequence,
            problem.kind,
            extra={"audit_sequence": problem.sequence},
        )
    return problems


# ---------------------------------------------------------------------------
# Decision trace


@dataclass(frozen=True)
class FindingTrace:
    """One vertebra of a run: each model's output, the ensemble, and the clinicians' reviews."""

    level: str
    box: tuple[float, float, float, float]  # x1, y1, x2, y2 in original pixels
    detection_confidence: float
    predicted_class: str
    ensemble_probabilities: dict[str, float]
    model_probabilities: dict[str, dict[str, float]]
    model_predicted_classes: dict[str, str]
    cam_regions: dict[str, dict[str, float]]
    warnings: list[dict[str, Any]]
    reviews: tuple[VertebraReview, ...]  # newest first


@dataclass(frozen=True)
class RunTrace:
    """One analysis run with the bundle, thresholds, timings and worker that produced it."""

    run: AnalysisRun
    is_current: bool
    bundle_path: str
    findings: tuple[FindingTrace, ...]


@dataclass(frozen=True)
class DecisionTrace:
    """Everything needed to trace a study's flags back to their inputs, without patient identity."""

    study: Study
    radiograph: dict[
        str, Any
    ]  # sha256, size, type, header (no name or birth date), provenance, spacing, warnings
    runs: tuple[RunTrace, ...]  # newest first
    outcomes: tuple[MRIOutcome, ...]  # newest first
    events: tuple[AuditEvent, ...] = field(default=())  # audit events about the study, oldest first

    def to_dict(self) -> dict[str, Any]:
        """Return the trace as JSON-compatible data for export."""
        return {
            "study": {
                "id": self.study.pk,
                "status": self.study.status,
                "created_at": self.study.created_at.isoformat(),
                "failure_code": self.study.failure_code,
                "current_run_id": self.study.current_run_id,
            },
            "radiograph": self.radiograph,
            "runs": [_run_to_dict(trace) for trace in self.runs],
            "mri_outcomes": [
                {
                    "id": outcome.pk,
                    "mri_done": outcome.mri_done,
                    "mri_date": outcome.mri_date.isoformat() if outcome.mri_date else None,
                    "fresh_levels": outcome.fresh_levels,
                    "recorded_by": outcome.recorded_by.get_username(),
                    "recorded_at": outcome.recorded_at.isoformat(),
                }
                for outcome in self.outcomes
            ],
            "audit_events": [
                {
                    "sequence": e.sequence,
                    "action": e.action,
                    "actor": e.actor_username,
                    "created_at": e.created_at.isoformat(),
                }
                for e in self.events
            ],
        }


def _iso(moment: dt.datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def _run_to_dict(trace: RunTrace) -> dict[str, Any]:
    run = trace.run
    return {
        "id": run.pk,
        "is_current": trace.is_current,
        "status": run.status,
        "result_status": run.result_status,
        "bundle": {
            "id": run.bundle_id,
            "name": run.bundle_name,
            "version": run.bundle_version,
            "demo": run.is_demo,
            "path": trace.bundle_path,
            "manifest_sha256": run.bundle_manifest_sha256,
            "file_sha256": run.bundle_file_sha256,
        },
        "thresholds": run.thresholds,
        "not_assessable_reasons": run.not_assessable_reasons,
        "warnings": run.warnings,
        "timings_ms": run.timings_ms,
        "worker": run.worker,
        "device": run.device,
        "task_id": run.task_id,
        "error": run.error,
        "created_at": _iso(run.created_at),
        "started_at": _iso(run.started_at),
        "finished_at": _iso(run.finished_at),
        "findings": [
            {
                "level": f.level,
                "box": list(f.box),
                "detection_confidence": f.detection_confidence,
                "predicted_class": f.predicted_class,
                "ensemble_probabilities": f.ensemble_probabilities,
                "model_probabilities": f.model_probabilities,
                "model_predicted_classes": f.model_predicted_classes,
                "cam_regions": f.cam_regions,
                "warnings": f.warnings,
                "reviews": [
                    {
                        "reviewer": review.reviewer.get_username(),
                        "agrees": review.agrees,
                        "corrected_class": review.corrected_class,
                        "created_at": review.created_at.isoformat(),
                    }
                    for review in f.reviews
                ],
            }
            for f in trace.findings
        ],
    }


def _radiograph_facts(study: Study) -> dict[str, Any]:
    radiograph = getattr(study, "radiograph", None)
    if radiograph is None:
        return {}
    header = {
        key: value
        for key, value in (radiograph.header or {}).items()
        if key not in _IDENTIFYING_HEADER_FIELDS
    }
    return {
        "sha256": radiograph.sha256,
        "size_bytes": radiograph.size_bytes,
        "file_type": radiograph.file_type,
        "rows": radiograph.rows,
        "columns": radiograph.columns,
        "header": header,
        "provenance": radiograph.provenance,
        "spacing": radiograph.spacing,
        "warnings": radiograph.warnings,
    }


def decision_trace(study_id: int) -> DecisionTrace:
    """Collect the decision trace of one study; raise Study.DoesNotExist when there is none."""
    study = Study.objects.select_related("radiograph").get(pk=study_id)
    runs = list(
        AnalysisRun.objects.filter(study=study)
        .select_related("bundle")
        .prefetch_related("findings__reviews__reviewer")
        .order_by("-created_at", "-id")
    )
    run_traces = tuple(
        RunTrace(
            run=run,
            is_current=run.pk == study.current_run_id,
            bundle_path=run.bundle.path,
            findings=tuple(_finding_trace(finding) for finding in run.findings.all()),
        )
        for run in runs
    )
    outcomes = tuple(MRIOutcome.objects.filter(study=study).select_related("recorded_by"))
    events = tuple(
        AuditEvent.objects.filter(object_type="study", object_id=str(study.pk)).order_by("sequence")
    )
    return DecisionTrace(
        study=study, radiograph=_radiograph_facts(study), runs=run_traces, outcomes=outcomes, events=events
    )


def _finding_trace(finding: Any) -> FindingTrace:
    # The prefetched reviews keep the model's ordering (newest first).
    return FindingTrace(
        level=finding.level,
        box=(finding.box_x1, finding.box_y1, finding.box_x2, finding.box_y2),
        detection_confidence=finding.detection_confidence,
        predicted_class=finding.predicted_class,
        ensemble_probabilities=finding.ensemble_probabilities,
        model_probabilities=finding.model_probabilities,
        model_predicted_classes=finding.model_predicted_classes,
        cam_regions=finding.cam_regions,
        warnings=finding.warnings,
        reviews=tuple(finding.reviews.all()),
    )

"""Models of the screening app, re-exported so that ``from screening.models import Study`` works."""

from __future__ import annotations

from screening.models.audit import AuditChainHead, AuditEvent, AuditEventQuerySet, AuditLogIsAppendOnly
from screening.models.bundles import ModelBundle
from screening.models.review import MRIOutcome, VertebraReview
from screening.models.studies import AnalysisRun, Radiograph, Study, VertebraFinding

__all__ = [
    "AnalysisRun",
    "AuditChainHead",
    "AuditEvent",
    "AuditEventQuerySet",
    "AuditLogIsAppendOnly",
    "ModelBundle",
    "MRIOutcome",
    "Radiograph",
    "Study",
    "VertebraFinding",
    "VertebraReview",
]

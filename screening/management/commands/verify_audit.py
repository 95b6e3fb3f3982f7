"""Check the audit trail's hash chain and name every changed, deleted or reordered event."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from screening.models import AuditEvent
from screening.services.audit_queries import verify_audit_trail


class Command(BaseCommand):
    help = (
        "Verify the hash chain of the audit trail. Exits with status 0 when it is intact, "
        "and with status 1 after listing each broken event by sequence number."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        problems = verify_audit_trail()
        if problems:
            for problem in problems:
                self.stderr.write(f"event {problem.sequence}: {problem.kind}: {problem.message}")
            # CommandError makes manage.py exit with status 1 after printing the summary.
            raise CommandError(f"The audit trail is broken in {len(problems)} place(s).", returncode=1)
        count = AuditEvent.objects.count()
        self.stdout.write(self.style.SUCCESS(f"The audit trail is intact: {count} event(s) verified."))

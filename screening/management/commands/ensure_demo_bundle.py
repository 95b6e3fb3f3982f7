"""Build the demo bundle into MODEL_BUNDLE_DIR when it has no valid bundle, then install and activate it."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from screening.errors import ScreeningError
from screening.services.bundles import ensure_demo_bundle


class Command(BaseCommand):
    help = (
        "Build the demo bundle into MODEL_BUNDLE_DIR if that folder has no valid bundle (minutes on CPU), "
        "install it, and activate it when no bundle is active."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--profile",
            choices=("full", "tiny"),
            default="full",
            help="size of the demo bundle to build: full (the demo) or tiny (for tests); default full",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            bundle = ensure_demo_bundle(
                build_if_missing=True, profile=options["profile"], progress=self._progress
            )
        except ScreeningError as error:
            raise CommandError(error.message_en) from error
        state = "active" if bundle.is_active else "installed, not active"
        self.stdout.write(self.style.SUCCESS(f"Bundle {bundle.name} {bundle.version}: {state}."))

    def _progress(self, message: str) -> None:
        self.stdout.write(message)
        self.stdout.flush()

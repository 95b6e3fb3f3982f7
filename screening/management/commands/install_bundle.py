"""Verify and install a model bundle folder, and optionally make it the active bundle."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from screening.errors import ScreeningError
from screening.services.bundles import activate_bundle, install_bundle


class Command(BaseCommand):
    help = "Verify every sha256 of the bundle at PATH and install it; with --activate, screen new studies with it."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", type=Path, help="bundle folder that contains manifest.json")
        parser.add_argument("--activate", action="store_true", help="make the bundle the active one")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            bundle = install_bundle(options["path"])
            self.stdout.write(
                f"Installed bundle {bundle.name} {bundle.version} (id {bundle.pk}) from {bundle.path}."
            )
            if options["activate"]:
                activate_bundle(bundle.pk)
                self.stdout.write(f"Bundle {bundle.name} {bundle.version} is now active.")
        except ScreeningError as error:
            raise CommandError(error.message_en) from error

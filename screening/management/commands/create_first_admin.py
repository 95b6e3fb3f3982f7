"""Create the first admin user with a random one-time password, only while no user exists."""

from __future__ import annotations

import secrets
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandParser
from django.db import transaction

from screening.models import AuditEvent
from screening.roles import ADMIN, PASSWORD_CHANGE_REQUIRED
from screening.services.audit import record_event


class Command(BaseCommand):
    help = (
        "Create the first admin (group admin, staff) with a random password printed once. "
        "Does nothing when any user exists."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--username", default="admin", help="user name of the first admin (default: admin)"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        user_model = get_user_model()
        username = options["username"]
        with transaction.atomic():
            if user_model.objects.exists():
                self.stdout.write("Users already exist; no admin was created.")
                return
            password = secrets.token_urlsafe(12)
            # Staff status opens the administration site (/admin/), where the admin manages users.
            user = user_model.objects.create_user(username=username, password=password, is_staff=True)
            user.groups.add(Group.objects.get(name=ADMIN))
            # The password was printed to a terminal, so the first sign-in must replace it.
            must_change, _ = Group.objects.get_or_create(name=PASSWORD_CHANGE_REQUIRED)
            user.groups.add(must_change)
            record_event(
                AuditEvent.Action.USER_CHANGE,
                obj=user,
                details={"change": "created first admin", "username": username},
            )
        self.stdout.write(
            self.style.SUCCESS(f"Created admin user {username!r} with the one-time password: {password}\n")
            + "It is shown only now. After signing in you are asked to replace it."
        )

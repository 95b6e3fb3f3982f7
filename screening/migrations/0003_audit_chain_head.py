"""Create the one row of the audit chain head, so that writers only ever lock it, never insert it."""

from __future__ import annotations

from django.db import migrations

GENESIS_HASH = "0" * 64


def create_head(apps, schema_editor):
    AuditChainHead = apps.get_model("screening", "AuditChainHead")
    AuditChainHead.objects.get_or_create(pk=1, defaults={"last_sequence": 0, "last_hash": GENESIS_HASH})


def delete_head(apps, schema_editor):
    AuditChainHead = apps.get_model("screening", "AuditChainHead")
    AuditChainHead.objects.filter(pk=1).delete()


class Migration(migrations.Migration):
    dependencies = [("screening", "0002_role_groups")]

    operations = [migrations.RunPython(create_head, delete_head)]

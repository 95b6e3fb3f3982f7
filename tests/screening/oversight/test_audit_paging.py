"""Paging through the audit trail, which records an event on every view."""

from __future__ import annotations

import html
import re
from typing import Any

from django.test import Client
from django.urls import reverse

from screening.models import AuditEvent
from screening.services.audit import record_event
from screening.views.oversight.audit import EVENTS_PER_PAGE

_SEQUENCE_CELL = re.compile(r'<td class="num">(\d+)</td>')
_OLDER_LINK = re.compile(r'<a href="(\?[^"]*)">Older</a>')


def _walk_older_pages(client: Client) -> list[list[int]]:
    """Return the sequences on each page, from the first page through the Older links."""
    url = reverse("oversight:audit")
    response = client.get(url)
    pages = []
    while True:
        content = response.content.decode()
        assert response.status_code == 200
        pages.append([int(number) for number in _SEQUENCE_CELL.findall(content)])
        link = _OLDER_LINK.search(content)
        if link is None:
            return pages
        response = client.get(url + html.unescape(link.group(1)))


def test_audit_pages_list_every_event_once(oversight_clients: dict[str, Client], admin_user: Any) -> None:
    for _ in range(EVENTS_PER_PAGE + 20):
        record_event(AuditEvent.Action.EXPORT, actor=admin_user, details={"export": "statistics_csv"})
    newest_before_view = AuditEvent.objects.order_by("-sequence").values_list("sequence", flat=True)[0]

    pages = _walk_older_pages(oversight_clients["admin"])

    listed = [sequence for page in pages for sequence in page]
    first_view = newest_before_view + 1
    assert len(pages) >= 2
    assert len(listed) == len(set(listed))
    assert sorted(listed) == list(range(1, first_view + 1))
    assert listed == sorted(listed, reverse=True)


def test_audit_page_ignores_invalid_upto(oversight_clients: dict[str, Client]) -> None:
    response = oversight_clients["admin"].get(reverse("oversight:audit"), {"upto": "not-a-number"})

    newest = AuditEvent.objects.order_by("-sequence").first()
    assert newest is not None
    assert newest.action == AuditEvent.Action.AUDIT_VIEW
    assert f'<td class="num">{newest.sequence}</td>' in response.content.decode()

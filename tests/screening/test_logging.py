"""Production log lines are JSON objects that carry the ``extra=`` fields."""

from __future__ import annotations

import json
import logging
import sys

from olvf_web.logging import JsonFormatter


def test_json_formatter_includes_extra_fields() -> None:
    record = logging.LogRecord("screening.tasks", logging.INFO, __file__, 1, "study %s claimed", (7,), None)
    record.study_id = 7
    record.task_id = "abc"

    entry = json.loads(JsonFormatter().format(record))

    assert entry["message"] == "study 7 claimed"
    assert entry["level"] == "INFO"
    assert entry["study_id"] == 7
    assert entry["task_id"] == "abc"
    assert entry["time"].endswith("+00:00")


def test_json_formatter_includes_exception() -> None:
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        record = logging.LogRecord("x", logging.ERROR, __file__, 1, "failed", (), sys.exc_info())

    entry = json.loads(JsonFormatter().format(record))

    assert "RuntimeError: boom" in entry["exception"]


def test_text_formatter_writes_utc_with_offset() -> None:
    from olvf_web.logging import UtcTextFormatter

    record = logging.LogRecord("screening.tasks", logging.INFO, __file__, 1, "study %s claimed", (7,), None)
    record.created = 0.0
    record.msecs = 0.0

    line = UtcTextFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s").format(record)

    assert line == "1970-01-01 00:00:00.000+00:00 INFO screening.tasks: study 7 claimed"

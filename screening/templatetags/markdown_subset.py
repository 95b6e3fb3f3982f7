"""A small Markdown subset for bundle model cards: headings, lists, tables and paragraphs.

Every piece of text is HTML-escaped, so a model card cannot inject markup. Inline Markdown
(emphasis, links, code spans) is shown as written.
"""

from __future__ import annotations

import re

from django.utils.html import escape

_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
_LIST_ITEM = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s+(.*)$")
_TABLE_SEPARATOR = re.compile(r"^\s*\|?\s*:?-{3,}:?\s*(\|\s*:?-{3,}:?\s*)*\|?\s*$")


def _cells(line: str) -> list[str]:
    return [cell.strip() for cell in line.strip().strip("|").split("|")]


def render_markdown_subset(text: str) -> str:
    """Render ``text`` as escaped HTML, using headings from level 3 down so they sit under the page's own."""
    html: list[str] = []
    paragraph: list[str] = []
    lines = text.replace("\r\n", "\n").split("\n")

    def flush_paragraph() -> None:
        if paragraph:
            html.append(f"<p>{escape(' '.join(paragraph))}</p>")
            paragraph.clear()

    index = 0
    while index < len(lines):
        line = lines[index]
        if not line.strip():
            flush_paragraph()
            index += 1
            continue

        if heading := _HEADING.match(line):
            flush_paragraph()
            level = min(len(heading.group(1)) + 2, 6)
            html.append(f"<h{level}>{escape(heading.group(2))}</h{level}>")
            index += 1
            continue

        if _LIST_ITEM.match(line):
            flush_paragraph()
            items = []
            while index < len(lines) and (item := _LIST_ITEM.match(lines[index])):
                items.append(f"<li>{escape(item.group(1))}</li>")
                index += 1
            html.append("<ul>" + "".join(items) + "</ul>")
            continue

        is_table = line.lstrip().startswith("|") and index + 1 < len(lines)
        if is_table and _TABLE_SEPARATOR.match(lines[index + 1]):
            flush_paragraph()
            header = "".join(f"<th>{escape(cell)}</th>" for cell in _cells(line))
            rows = []
            index += 2
            while index < len(lines) and lines[index].lstrip().startswith("|"):
                rows.append(
                    "<tr>" + "".join(f"<td>{escape(cell)}</td>" for cell in _cells(lines[index])) + "</tr>"
                )
                index += 1
            html.append(
                f'<table class="data"><thead><tr>{header}</tr></thead><tbody>{"".join(rows)}</tbody></table>'
            )
            continue

        paragraph.append(line.strip())
        index += 1

    flush_paragraph()
    # No newlines between blocks, because the model-card box keeps white space (pre-wrap).
    return "".join(html)

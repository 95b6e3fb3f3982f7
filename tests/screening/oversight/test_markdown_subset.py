"""The Markdown subset that renders bundle model cards."""

from __future__ import annotations

from screening.templatetags.markdown_subset import render_markdown_subset


def test_markdown_heading_list_paragraph() -> None:
    html = render_markdown_subset("# Card\n\nTrained on\nphantoms.\n\n- one\n- two\n")

    assert "<h3>Card</h3>" in html
    assert "<p>Trained on phantoms.</p>" in html
    assert "<ul><li>one</li><li>two</li></ul>" in html


def test_markdown_table() -> None:
    html = render_markdown_subset("| Metric | Value |\n|---|---:|\n| AUC | 0.98 |\n")

    assert "<th>Metric</th><th>Value</th>" in html
    assert "<td>AUC</td><td>0.98</td>" in html


def test_markdown_escapes_html() -> None:
    html = render_markdown_subset("# <script>x</script>\n\n<img src=x onerror=alert(1)>\n\n- <b>bold</b>\n")

    assert "<script>" not in html
    assert "<img" not in html
    assert "<b>" not in html
    assert "&lt;script&gt;" in html


def test_markdown_empty_text() -> None:
    assert render_markdown_subset("") == ""

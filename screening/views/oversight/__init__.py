"""Oversight pages: reviews and MRI outcomes, statistics, the audit trail, bundles and the PDF report."""

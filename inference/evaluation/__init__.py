"""Evaluation of a model bundle on a labelled set: metrics, reports and Grad-CAM analysis."""

"""Screening of lateral lumbar radiographs for osteoporotic vertebral fractures.

This package never imports Django. The web application calls it through
``inference.imaging.load`` and ``inference.pipeline.screen`` and reads one
result type, ``inference.result.ScreeningResult``.
"""

"""Views of the pages. Each module contains the views of one page, and the logic lives in ``screening.services``."""

"""Views of the pages. Each module holds the views of one page; the logic lives in ``screening.services``."""

"""REST API of the screening app (Django REST framework)."""

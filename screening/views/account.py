"""Account pages that every signed-in user may open, whatever their role."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import views as auth_views

from screening.roles import PASSWORD_CHANGE_REQUIRED


class PasswordChangeView(auth_views.PasswordChangeView):
    """Django's password change form in the product's layout, open to users without staff status."""

    template_name = "registration/password_change_form.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        # PasswordChangeRequiredMiddleware sends users in this group here, so the page explains why.
        context["change_required"] = self.request.user.groups.filter(name=PASSWORD_CHANGE_REQUIRED).exists()
        return context


class PasswordChangeDoneView(auth_views.PasswordChangeDoneView):
    """Confirmation page shown after a successful password change."""

    template_name = "registration/password_change_done.html"

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

    def form_valid(self, form: Any) -> Any:
        response = super().form_valid(form)
        # The change ends the requirement at once, even when the client never loads the "done" page.
        required = form.user.groups.filter(name=PASSWORD_CHANGE_REQUIRED)
        if required.exists():
            form.user.groups.remove(*required)
        return response


class PasswordChangeDoneView(auth_views.PasswordChangeDoneView):
    """Confirmation page shown after a successful password change."""

    template_name = "registration/password_change_done.html"

"""URLs of the pages: sign-in, sign-out and password change without a namespace, every other page under "screening"."""

from __future__ import annotations

from django.contrib.auth import views as auth_views
from django.urls import include, path

from screening.views import account, files, report, studies, upload

page_patterns = [
    path("", studies.home, name="home"),
    path("upload/", upload.upload, name="upload"),
    path("studies/", studies.study_list, name="study_list"),
    path("studies/status/", studies.study_status, name="study_status"),
    path("studies/<int:study_id>/", report.report, name="report"),
    path("studies/<int:study_id>/original/", files.original, name="original"),
    path("studies/<int:study_id>/files/<path:name>", files.run_file, name="run_file"),
]

urlpatterns = [
    path(
        "accounts/login/",
        auth_views.LoginView.as_view(redirect_authenticated_user=True),
        name="login",
    ),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/password_change/", account.PasswordChangeView.as_view(), name="password_change"),
    path(
        "accounts/password_change/done/",
        account.PasswordChangeDoneView.as_view(),
        name="password_change_done",
    ),
    path("", include((page_patterns, "screening"))),
]

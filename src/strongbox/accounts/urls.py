from django.contrib.auth import views as auth_views
from django.urls import path

from strongbox.accounts import credential_pages, keys, signup_pages, two_factor_pages, views

app_name = "accounts"
urlpatterns = [
    path("signup/", signup_pages.signup, name="signup"),
    path("signup/done/", signup_pages.signup_done, name="signup_done"),
    path("activate/<str:token>/", signup_pages.activate, name="activate"),
    path("login/", views.LoginView.as_view(), name="login"),
    path("login/verify/", views.login_verify, name="login_verify"),
    path("reauth/", views.reauth_view, name="reauth"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("", views.account_settings, name="settings"),
    path("sessions/end-all/", credential_pages.sessions_end_all, name="sessions_end_all"),
    path("activity/", views.activity, name="activity"),
    path("keys/", keys.api_keys, name="api_keys"),
    path("keys/<str:key_id>/revoke/", keys.api_key_revoke, name="api_key_revoke"),
    path("2fa/", two_factor_pages.two_factor_page, name="two_factor"),
    path("2fa/setup/", two_factor_pages.two_factor_setup, name="two_factor_setup"),
    path("2fa/confirm/", two_factor_pages.two_factor_confirm, name="two_factor_confirm"),
    path("2fa/disable/", two_factor_pages.two_factor_disable, name="two_factor_disable"),
    path("2fa/recovery-codes/", two_factor_pages.recovery_codes_regenerate, name="recovery_codes_regenerate"),
    path("email/", views.email_change, name="email_change"),
    path("email/sent/", views.email_change_sent, name="email_change_sent"),
    path("email/confirm/<str:token>/", views.email_change_confirm, name="email_change_confirm"),
    path("password/change/", credential_pages.PasswordChangeView.as_view(), name="password_change"),
    path("password/reset/", credential_pages.password_reset, name="password_reset"),
    path("password/reset/done/",
         auth_views.PasswordResetDoneView.as_view(template_name="accounts/password_reset_done.html"),
         name="password_reset_done"),
    path("password/reset/<uidb64>/<token>/", credential_pages.PasswordResetConfirmView.as_view(),
         name="password_reset_confirm"),
    path("password/reset/complete/",
         auth_views.PasswordResetCompleteView.as_view(template_name="accounts/password_reset_complete.html"),
         name="password_reset_complete"),
]

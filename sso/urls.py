from django.urls import path

from sso import views

app_name = "sso"
urlpatterns = [
    path("login/", views.login, name="login"),
    # The redirect URI to register with the identity provider: https://<Chowda's host>/sso/callback/
    path("callback/", views.callback, name="callback"),
    path("no-role/", views.no_role, name="no_role"),
    # Where the provider's logout sends the browser back: https://<Chowda's host>/sso/signed-out/
    path("signed-out/", views.signed_out, name="signed_out"),
]

"""The bare-Django ceiling of bench/budget.py: settings, URLconf and view in one module, Django's default middleware
(as `startproject` writes it), no database, no templates. Served by granian as Strongbox is
(bench/budget_bare_wsgi.py)."""

from django.http import HttpResponse
from django.urls import path

DEBUG = False
SECRET_KEY = "bench-only-not-a-secret"  # noqa: S105 - a throwaway server on loopback
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
ROOT_URLCONF = __name__
INSTALLED_APPS = ["django.contrib.auth", "django.contrib.contenttypes", "django.contrib.sessions",
                  "django.contrib.messages"]
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]
DATABASES = {}
USE_TZ = True


def hello(request):
    return HttpResponse(b"ok", content_type="text/plain")


urlpatterns = [path("bare", hello), path("healthz", hello)]

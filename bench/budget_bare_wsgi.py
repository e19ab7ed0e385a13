"""The WSGI application of the bare-Django ceiling (settings in bench/budget_bare.py)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "budget_bare")
application = get_wsgi_application()

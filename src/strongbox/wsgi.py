import os

from django.core.wsgi import get_wsgi_application

from strongbox.cli import PRIVATE_UMASK

# For app servers started without `strongbox serve` (gunicorn, granian, uWSGI): the same private file modes.
os.umask(PRIVATE_UMASK)
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "strongbox.settings")
application = get_wsgi_application()

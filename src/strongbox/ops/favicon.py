"""/favicon.ico, which browsers ask for on every site whatever the page links: send them to the SVG icon the
pages link (static/favicon.svg) instead of a 404 in every page's log."""

from django.http import HttpResponsePermanentRedirect
from django.templatetags.static import static
from django.views.decorators.http import require_safe


@require_safe
def favicon(request):
    # Looked up per request: the static file's hashed name is known only once collectstatic has run.
    return HttpResponsePermanentRedirect(static("favicon.svg"))

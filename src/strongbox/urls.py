from django.contrib import admin
from django.urls import include, path
from django.views.decorators.cache import cache_page
from django.views.generic import RedirectView

from strongbox import __version__
from strongbox.api import api, schema_view
from strongbox.ops import views as ops_views
from strongbox.ops.favicon import favicon

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="documents:list", permanent=False)),
    path("accounts/", include("strongbox.accounts.urls")),
    path("documents/", include("strongbox.documents.urls")),
    path("", include("strongbox.sharing.urls")),  # documents/<id>/sharing/…, links/…, and share links at s/<token>/
    path("notifications/", include("strongbox.documents.notification_urls")),
    # The schema is the same for everyone and changes only with a new release: cache the whole response.
    path("api/v1/openapi.json", cache_page(3600, key_prefix=f"openapi-{__version__}")(schema_view),
         name="openapi-schema"),
    path("api/v1/", api.urls),
    path("admin/", admin.site.urls),
    path("healthz", ops_views.healthz, name="healthz"),
    path("readyz", ops_views.readyz, name="readyz"),
    path("metrics", ops_views.metrics, name="metrics"),
    path("ops/", include("strongbox.ops.dashboard.urls")),
    path("favicon.ico", favicon, name="favicon"),
]

handler400 = "strongbox.ops.views.bad_request"
handler403 = "strongbox.ops.views.permission_denied"
handler404 = "strongbox.ops.views.page_not_found"
handler500 = "strongbox.ops.views.server_error"

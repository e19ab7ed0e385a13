"""The JSON API at /api/v1/: routers per resource, one error shape, one authentication chain."""

from ninja import NinjaAPI
from ninja.openapi.docs import Swagger
from ninja.openapi.views import openapi_json

from strongbox.api import account, bulk, documents, errors, organize, sharing, trash
from strongbox.api.auth import ApiKeyAuth, SessionAuth
from strongbox.api.errors import PROBLEM
from strongbox.api.ratelimit import PerCallerThrottle


class StrongboxAPI(NinjaAPI):
    def get_openapi_schema(self, *args, **kwargs):
        """Declare errors as application/problem+json, as they are sent (ninja documents every body as JSON)."""
        schema = super().get_openapi_schema(*args, **kwargs)
        for operation in (op for path in schema["paths"].values() for op in path.values()):
            for status, response in operation.get("responses", {}).items():
                if int(status) >= 400 and "application/json" in response.get("content", {}):
                    response["content"] = {PROBLEM: response["content"].pop("application/json")}
        return schema


api = StrongboxAPI(
    title="Strongbox API",
    version="1.0.0",
    description="Documents, search and notifications. Authenticate with `Authorization: Bearer <API key>` "
                "(create keys in your account settings) or a signed-in browser session (CSRF token required "
                "for changes). Errors are application/problem+json with a stable `code`.",
    auth=[SessionAuth(), ApiKeyAuth()],
    throttle=[PerCallerThrottle()],
    docs=Swagger(),
    urls_namespace="api",
)
errors.install(api)
# Before documents.router: /documents/bulk is not a document id.
api.add_router("", bulk.router)
api.add_router("", documents.router)
api.add_router("", documents.notifications)
api.add_router("", trash.router)
api.add_router("", trash.versions)
api.add_router("", account.router)
api.add_router("", account.keys)
api.add_router("", organize.views_router)
api.add_router("", organize.notes_router)
api.add_router("", organize.categories_router)
api.add_router("", sharing.links)


def schema_view(request):
    """The OpenAPI document (served through urls.py, which caches it)."""
    return openapi_json(request, api=api)

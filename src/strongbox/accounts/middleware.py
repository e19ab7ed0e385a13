import time

from django.conf import settings
from django.contrib.auth import logout

STARTED, SEEN = "strongbox.session_started", "strongbox.session_seen"
# Record activity at most once a minute: the idle clock needs no more precision, and each record is a write.
SEEN_PRECISION = 60


class SessionLifetimeMiddleware:
    """End a signed-in session after SESSION_IDLE_TIMEOUT without requests, or SESSION_COOKIE_AGE after sign-in,
    whichever comes first (the cookie's own expiry alone moves forward with every save)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.user.is_authenticated:
            now = int(time.time())
            session = request.session
            started, seen = session.setdefault(STARTED, now), session.get(SEEN, now)
            if now - seen > settings.SESSION_IDLE_TIMEOUT or now - started > settings.SESSION_COOKIE_AGE:
                logout(request)
            elif now - seen >= SEEN_PRECISION or SEEN not in session:
                session[SEEN] = now
        return self.get_response(request)

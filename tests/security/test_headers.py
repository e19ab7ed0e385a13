"""What the Mozilla HTTP Observatory grades, on responses of the production profile (aiming at A+)."""

import pytest

pytestmark = pytest.mark.security


def test_every_page_carries_the_security_headers(server):
    for path in ("/accounts/login/", "/documents/", "/no/such/page", "/api/v1/me", "/healthz"):
        response = server.session().get(server.url + path, allow_redirects=False)
        headers = response.headers
        assert headers["Strict-Transport-Security"] == "max-age=63072000; includeSubDomains", path
        assert headers["X-Content-Type-Options"] == "nosniff", path
        assert headers["Referrer-Policy"] == "same-origin", path
        assert headers["Cross-Origin-Opener-Policy"] == "same-origin", path
        assert headers["Cross-Origin-Resource-Policy"] == "same-origin", path
        assert "camera=()" in headers["Permissions-Policy"], path


def test_pages_have_a_strict_content_security_policy(server):
    csp = server.session().get(server.url + "/accounts/login/").headers["Content-Security-Policy"]
    directives = dict(part.strip().split(" ", 1) for part in csp.split(";"))
    assert directives["default-src"] == "'self'"
    assert directives["script-src"] == "'self'" and directives["style-src"] == "'self'"
    assert directives["object-src"] == "'none'" and directives["base-uri"] == "'none'"
    assert directives["frame-ancestors"] == "'none'" and directives["form-action"] == "'self'"
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp


def test_cookies_are_host_prefixed_secure_http_only_and_same_site(server):
    session = server.signed_in("alice")
    cookies = {cookie.name: cookie for cookie in session.cookies}
    assert set(cookies) == {"__Host-sessionid", "__Host-csrftoken"}
    for cookie in cookies.values():
        assert cookie.secure and cookie.path == "/" and not cookie.domain_specified
        assert cookie.get_nonstandard_attr("SameSite") == "Lax"
    assert cookies["__Host-sessionid"].has_nonstandard_attr("HttpOnly")


def test_error_pages_reveal_nothing(server):
    response = server.session().get(server.url + "/documents/../../etc/passwd")
    assert response.status_code == 404
    for leak in ("Traceback", "Django", "urlpatterns", "DEBUG", "/work/", "site-packages"):
        assert leak not in response.text


def test_a_forged_host_header_is_refused(server):
    response = server.session().get(server.url + "/accounts/login/", headers={"Host": "evil.example"})
    assert response.status_code == 400
    assert "evil.example" not in response.text

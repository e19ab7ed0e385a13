"""The operations page in a real browser, at desktop and phone widths: a staff user's charts gain points from the
page's own polls, the balancer's table follows the balancer, nothing breaks the CSP; anyone else gets the 404 page.

(Not tests/e2e/test_operations_page.py: tests/ops/ has a module of that name, and test modules share one
namespace here, since the test directories are not packages.)"""

import http.server
import threading

import pytest
from django.conf import settings
from playwright.sync_api import expect

from helpers import browser_sign_in, make_user

pytestmark = pytest.mark.browser
VIEWPORTS = {"desktop": {"width": 1100, "height": 800}, "phone": {"width": 390, "height": 844}}
CSV_HEADER = "# pxname,svname,status,scur,rate,rtime,hrsp_5xx,weight,type\n"


def points(page, chart: str) -> int:
    return page.evaluate(f"Number(document.querySelector('[data-chart={chart}] svg').dataset.points)")


def wait_for_points(page, chart: str, count: int) -> None:
    page.wait_for_function(
        f"() => Number(document.querySelector('[data-chart={chart}] svg')?.dataset.points) >= {count}",
        timeout=15_000)


def console_errors(page) -> list[tuple[str, str]]:
    """Record the page's console errors with where they come from, but for the favicon the browser asks for on
    its own (there is none: a 404 the pages never asked for)."""
    seen = []
    page.on("console", lambda message: message.type == "error" and not message.location.get("url", "").endswith(
        "/favicon.ico") and seen.append((message.text, message.location.get("url"))))
    return seen


class StatsServer:
    """Answers HAProxy's stats CSV with whatever `rows` says now (the real HAProxy is tests/ops'; here the test
    changes a server's state between two polls)."""

    def __init__(self):
        self.rows = ["app,web1,UP,2,5,12,0,1,2", "app,web2,UP,0,3,9,1,1,2"]
        stats = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                body = (CSV_HEADER + "".join(f"{row}\n" for row in stats.rows)).encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/stats;csv"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def stats_server(settings):
    server = StatsServer()
    settings.BALANCER_STATS_URL = server.url
    yield server
    server.close()


@pytest.fixture
def staff(transactional_db, password_hash):
    return make_user("olga", password_hash, is_staff=True)


@pytest.fixture(params=list(VIEWPORTS))
def sized_context(request, browser):
    context = browser.new_context(viewport=VIEWPORTS[request.param])
    context.set_default_timeout(10_000)
    context.viewport_name = request.param
    yield context
    context.close()


def test_it_draws_live_charts_for_staff(sized_context, live_server, staff, stats_server, watch, screenshot):
    page = watch.attach(sized_context.new_page())
    errors = console_errors(page)
    browser_sign_in(page, live_server.url, staff.username)
    if page.locator("label.nav-toggle-label").is_visible():  # on a phone the navigation folds behind Menu
        page.click("label.nav-toggle-label")
    page.click("header >> text=Operations")
    page.wait_for_url(f"{live_server.url}/ops/")
    expect(page.locator("#ops-charts")).to_be_visible()

    wait_for_points(page, "rate", 2)
    wait_for_points(page, "queue", 3)
    rate = page.locator("[data-chart=rate]")
    series = rate.locator("polyline").evaluate_all("lines => lines.map(l => l.dataset.series)")
    assert "web1 (balancer)" in series and "web2 (balancer)" in series and len(series) == 3  # and this server
    this_server = [name for name in series if "(balancer)" not in name][0]
    line = rate.locator(f"polyline[data-series='{this_server}']").get_attribute("points")
    assert len(line.split()) >= 2
    expect(rate.locator("text.ops-axis-title")).to_have_text("requests/s")
    expect(rate.locator("text", has_text="now")).to_have_count(1)
    expect(rate.locator("text", has_text="−5 min")).to_have_count(1)
    expect(rate.locator(".ops-legend li")).to_have_count(3)

    # Requests between two polls give this server a mean and a 95th percentile.
    page.evaluate("Promise.all([1, 2, 3, 4, 5].map(() => fetch('/documents/')))")
    page.wait_for_function(
        "() => document.querySelector(`[data-chart=latency] polyline[data-series$=' p95']`) !== null",
        timeout=15_000)
    expect(page.locator("[data-chart=latency] .ops-legend li", has_text="mean")).to_have_count(1)
    if settings.SCALE_OUT_RUN:  # the replica's lag is drawn
        expect(page.locator("[data-chart=lag] .ops-legend li", has_text="replica1")).to_have_count(1)
    else:
        expect(page.locator("[data-chart=lag] svg text.ops-empty")).to_have_text("No replicas are configured.")

    # The balancer's table follows the balancer.
    table = page.locator("#ops-balancer table")
    expect(table.locator("tbody tr")).to_have_count(2)
    stats_server.rows[1] = "app,web2,DRAIN,0,0,9,1,0,2"
    expect(table.locator("tbody tr").nth(1).locator(".ops-state-drain")).to_have_text("DRAIN")

    width = VIEWPORTS[sized_context.viewport_name]["width"]
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    for box in page.locator(".ops-chart svg").evaluate_all("svgs => svgs.map(s => s.getBoundingClientRect().right)"):
        assert box <= width
    assert errors == []
    screenshot(page, f"operations-{sized_context.viewport_name}")


def test_it_shows_anyone_else_the_404_page(context, live_server, user, watch):
    page = watch.attach(context.new_page())
    browser_sign_in(page, live_server.url, user.username)
    expect(page.locator("header >> text=Operations")).to_have_count(0)
    response = page.goto(f"{live_server.url}/ops/")
    assert response.status == 404
    expect(page.locator("h1")).to_have_text("Not found")
    assert page.locator("#ops").count() == 0
    assert page.goto(f"{live_server.url}/ops/figures.json").status == 404

"""Path hygiene and routing of the v1 additions, in process (the werkzeug test client keeps
the raw target in RAW_URI, as gunicorn does); test_path_hygiene_processes.py does the same
through a real gunicorn gateway."""
import pytest
from flask import Flask, request

from gateway.paths import raw_path, refusal
from gateway.routes import DEFAULT_ROUTES, RouteTable
from tests.support.servers import serving

from .conftest import bearer, gateway_for

TRAVERSALS = [
    "/api/v1/me/../../../internal/auth/login",
    "/api/v1/accounts/%2e%2e/%2e%2e/%2e%2e/internal/auth/login",
    "/api/v1/accounts/%2E%2E/%2E%2E/%2E%2E/internal/auth/login",
    "/api/v1/accounts/.%2e/x",
    "/api/v1/accounts/%252e%252e/x",
    "/api/v1/accounts/./x",
    "/api/v1/accounts/.",
    "/api/v1/accounts/..",
    "/api/v1/accounts/a%2fb",
    "/api/v1/accounts/a%2Fb",
    "/api/v1/accounts/a%5cb",
    "/api/v1/accounts/a%5Cb",
    "/api/v1/accounts/a%00b",
    "/api/v1/accounts/a\\b",
    "/api/v1//accounts",
    "//api/v1/accounts",
    "/api/v1/accounts//x",
]


@pytest.mark.parametrize("path", TRAVERSALS)
def test_refused_paths(path):
    problem = refusal(path)
    assert problem is not None and (problem.status, problem.code) == (400, "invalid_path"), path


@pytest.mark.parametrize("path", ["/internal/auth/login", "/INTERNAL/auth/login", "/Internal", "/%69nternal/events",
                                  "/%49NTERNAL/events"])
def test_internal_is_not_found(path):
    problem = refusal(path)
    assert problem is not None and (problem.status, problem.code) == (404, "not_found")


@pytest.mark.parametrize("path", ["/api/v1/accounts", "/api/v1/accounts/", "/api/v1/accounts/a.b", "/api/v1/a..b",
                                  "/api/v1/me%20x", "/healthz", "/", "/api/v1/internal-ish"])
def test_ordinary_paths_pass(path):
    assert refusal(path) is None


def test_the_raw_target_is_taken_from_the_server_or_the_path():
    assert raw_path({"RAW_URI": "/a/%2e%2e/b?x=1", "PATH_INFO": "/a/../b"}) == "/a/%2e%2e/b"
    assert raw_path({"REQUEST_URI": "/a/b?x", "PATH_INFO": "/a/b"}) == "/a/b"
    assert raw_path({"RAW_URI": "http://host:1/a/b?q", "PATH_INFO": "/a/b"}) == "/a/b"
    # No raw target at all: the decoded path still shows the dot segments.
    assert refusal(raw_path({"PATH_INFO": "/api/v1/../internal"})).code == "invalid_path"


def recording_upstream(name, seen):
    app = Flask(name)

    @app.route("/", defaults={"rest": ""}, methods=["GET", "POST"])
    @app.route("/<path:rest>", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
    def anything(rest):
        seen.append(request.environ["RAW_URI"])
        return {"service": name, "path": request.path}
    return app


@pytest.fixture(scope="module")
def gateway_and_upstreams():
    seen = []
    with serving(recording_upstream("accounts", seen)) as accounts, \
            serving(recording_upstream("transactions", seen)) as transactions, \
            serving(recording_upstream("preferences", seen)) as preferences:
        app = gateway_for(accounts=accounts.url, transactions=transactions.url, preferences=preferences.url)
        yield app, seen


@pytest.fixture
def gateway_and_seen(gateway_and_upstreams):
    app, seen = gateway_and_upstreams
    seen.clear()
    return app.test_client(), seen


# The test client reads "//api/..." as a host name; the gunicorn test sends it as it is.
@pytest.mark.parametrize("path", [p for p in TRAVERSALS if not p.startswith("//")])
@pytest.mark.parametrize("token", [True, False])
def test_the_gateway_answers_invalid_path_and_forwards_nothing(gateway_and_seen, path, token):
    client, seen = gateway_and_seen
    headers = {**(bearer() if token else {}), "X-Request-ID": "path-1"}
    # A body that breaks the body rules too: the path is judged first.
    response = client.post(path, headers=headers, data="[" * 100 + "]" * 100, content_type="application/json")
    assert response.status_code == 400, (path, response.status_code, response.get_data(as_text=True))
    assert response.headers["Content-Type"] == "application/problem+json"
    assert response.get_json()["code"] == "invalid_path"
    assert response.headers["X-Request-ID"] == "path-1"
    assert response.headers["Cache-Control"] == "no-store"
    assert seen == []


@pytest.mark.parametrize("path", ["/internal/auth/login", "/INTERNAL/auth/login", "/%69nternal/events"])
def test_internal_at_the_gateway_is_404_and_never_forwarded(gateway_and_seen, path):
    client, seen = gateway_and_seen
    response = client.post(path, headers=bearer(), json={"email": "a@b.c"})
    assert response.status_code == 404 and response.get_json()["code"] == "not_found"
    assert seen == []


def test_an_ordinary_path_is_forwarded_re_encoded(gateway_and_seen):
    client, seen = gateway_and_seen
    response = client.get("/api/v1/accounts/a%3Fb%23c?limit=5", headers=bearer())
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.get_json() == {"service": "accounts", "path": "/api/v1/accounts/a?b#c"}
    assert seen == ["/api/v1/accounts/a%3Fb%23c?limit=5"]


@pytest.mark.parametrize("path,service", [
    ("/api/v1/admin/customers", "accounts"),
    ("/api/v1/admin/customers/c1/kyc", "accounts"),
    ("/api/v1/admin/accounts/a1", "accounts"),
    ("/api/v1/fx/rates", "transactions"),
    ("/api/v1/fx/rates/history", "transactions"),
    ("/api/v1/fees", "transactions"),
    ("/api/v1/holds", "transactions"),
    ("/api/v1/holds/h1/capture", "transactions"),
    ("/api/v1/categories", "transactions"),
    ("/api/v1/category-rules/r1", "transactions"),
    ("/api/v1/budgets/b1", "transactions"),
    ("/api/v1/insights/spending", "transactions"),
    ("/api/v1/scheduled-transfers/s1/runs", "transactions"),
    ("/api/v1/bills/b1/pay", "transactions"),
    ("/api/v1/rewards/redeem", "transactions"),
    ("/api/v1/accounts/a1/transactions/l1", "transactions"),
    ("/api/v1/accounts/a1/balance-history", "transactions"),
    ("/api/v1/admin/fx-rates", "transactions"),
    ("/api/v1/admin/fees", "transactions"),
    ("/api/v1/admin/transfers/t1/settle", "transactions"),
    ("/api/v1/admin/ledger/chart-of-accounts", "transactions"),
    ("/api/v1/admin/journal-entries/j1/post", "transactions"),
    ("/api/v1/admin/reports/trial-balance", "transactions"),
    ("/api/v1/admin/fiscal-periods/p1/close", "transactions"),
    ("/api/v1/admin/risk-rules/large_amount", "transactions"),
    ("/api/v1/admin/reviews/r1/approve", "transactions"),
    ("/api/v1/admin/data-quality", "transactions"),
    ("/api/v1/admin/deposits", "transactions"),
    ("/api/v1/admin/ledger-check", "transactions"),
    ("/api/v1/accounts/a1/close", "accounts"),
    ("/api/v1/fxx", None),
    ("/api/v1/admin/ledgers", None),
])
def test_the_v1_additions_are_routed_to_their_owner(path, service):
    assert RouteTable.from_pairs(DEFAULT_ROUTES).service_for(path) == service

"""Rate limits at the gateway: per IP, per customer, stricter on login (per IP, per email
and IP) and on registration (per IP)."""
import pytest
from flask import Flask, request

from devstack.stack import free_port
from tests.support.servers import serving

from .conftest import bearer, gateway_for

LOGIN = "/api/v1/auth/login"


@pytest.fixture(scope="module")
def upstream():
    """Stands in for accounts: every login is refused, every other path answers 200."""
    app = Flask("accounts")

    @app.post("/internal/auth/login")
    def login():
        return {"code": "invalid_credentials"}, 401, {"Content-Type": "application/problem+json"}

    @app.route("/api/v1/<path:_rest>", methods=["GET", "POST"])
    def anything(_rest):
        return {"path": request.path, "body": request.get_json(silent=True)}

    @app.post("/api/v1/auth/register")
    def register():
        return {"id": "c-1"}, 201
    with serving(app) as server:
        yield server


def login(gateway, email, ip="10.0.0.1"):
    return gateway.post(LOGIN, json={"email": email, "password": "x"}, environ_base={"REMOTE_ADDR": ip})


def assert_rate_limited(response):
    assert response.status_code == 429 and response.mimetype == "application/problem+json"
    assert response.get_json()["code"] == "rate_limited"
    assert 1 <= int(response.headers["Retry-After"]) <= 60
    assert response.headers["X-Request-ID"]


def test_login_is_limited_per_email_and_ip_so_nobody_can_lock_a_victim_out(upstream):
    gateway = gateway_for(accounts=upstream.url, RATE_LIMIT_LOGIN_PER_EMAIL="3/minute").test_client()
    for _ in range(3):  # the attacker, from one address, spends the budget of (ada, that address)
        assert login(gateway, "ada@example.com", ip="10.0.0.66").status_code == 401
    assert_rate_limited(login(gateway, " ADA@example.com", ip="10.0.0.66"))
    # Ada, from anywhere else, still reaches the accounts service (its own throttle decides).
    assert login(gateway, "ada@example.com", ip="10.0.0.9").status_code == 401
    assert login(gateway, "bob@example.com", ip="10.0.0.66").status_code == 401


def test_register_has_a_limit_of_its_own_per_ip(upstream):
    gateway = gateway_for(accounts=upstream.url, RATE_LIMIT_REGISTER_PER_IP="2/minute").test_client()

    def register(ip):
        return gateway.post("/api/v1/auth/register", json={"email": "x@example.com", "password": "p", "full_name": "X"},
                            environ_base={"REMOTE_ADDR": ip})

    assert [register("10.0.0.1").status_code for _ in range(2)] == [201, 201]
    assert_rate_limited(register("10.0.0.1"))
    assert register("10.0.0.2").status_code == 201  # another address has its own budget
    # The limit is register's alone: other routes from the same address are not affected.
    assert gateway.get("/api/v1/account-types", headers=bearer(), environ_base={"REMOTE_ADDR": "10.0.0.1"}).status_code == 200


def test_login_is_limited_per_ip_whatever_the_email(upstream):
    gateway = gateway_for(accounts=upstream.url, RATE_LIMIT_LOGIN_PER_IP="4/minute").test_client()
    for n in range(4):
        assert login(gateway, f"user{n}@example.com").status_code == 401
    assert_rate_limited(login(gateway, "someone@example.com"))
    assert login(gateway, "someone@example.com", ip="10.0.0.2").status_code == 401


def test_each_customer_has_a_budget_of_their_own(upstream):
    gateway = gateway_for(accounts=upstream.url, RATE_LIMIT_PER_CUSTOMER="3/minute").test_client()
    ada, bob = bearer("cust-ada"), bearer("cust-bob")
    for n in range(3):  # a customer's budget follows the token, not the address
        assert gateway.get("/api/v1/me", headers=ada, environ_base={"REMOTE_ADDR": f"10.1.0.{n}"}).status_code == 200
    assert_rate_limited(gateway.get("/api/v1/me", headers=ada))
    assert gateway.get("/api/v1/me", headers=bob).status_code == 200


def test_forged_tokens_do_not_spend_a_customers_budget(upstream):
    gateway = gateway_for(accounts=upstream.url, RATE_LIMIT_PER_CUSTOMER="2/minute").test_client()
    forged = bearer("cust-ada", keys="k2:an-attacker-signing-key-that-is-long-enough-000")
    for _ in range(5):
        assert gateway.get("/api/v1/me", headers=forged).status_code == 401
    assert gateway.get("/api/v1/me", headers=bearer("cust-ada")).status_code == 200


def test_every_client_ip_has_a_budget_and_health_is_not_counted(upstream):
    gateway = gateway_for(accounts=upstream.url, RATE_LIMIT_PER_IP="3/minute").test_client()
    for _ in range(5):
        assert gateway.get("/healthz").status_code == 200
    for _ in range(3):
        assert gateway.get("/api/v1/account-types").status_code == 401  # counted before auth
    assert_rate_limited(gateway.get("/api/v1/account-types", headers=bearer()))
    other = gateway.get("/api/v1/account-types", headers=bearer(), environ_base={"REMOTE_ADDR": "10.9.9.9"})
    assert other.status_code == 200


def test_x_forwarded_for_is_ignored_unless_proxies_are_trusted(upstream):
    untrusting = gateway_for(accounts=upstream.url, RATE_LIMIT_PER_IP="2/minute").test_client()
    for n in range(2):
        untrusting.get("/api/v1/account-types", headers={"X-Forwarded-For": f"203.0.113.{n}"})
    assert_rate_limited(untrusting.get("/api/v1/account-types", headers={"X-Forwarded-For": "203.0.113.7"}))
    trusting = gateway_for(accounts=upstream.url, RATE_LIMIT_PER_IP="2/minute", TRUSTED_PROXY_HOPS=1).test_client()
    for n in range(4):
        response = trusting.get("/api/v1/account-types", headers={**bearer(), "X-Forwarded-For": f"203.0.113.{n}"})
        assert response.status_code == 200


def test_with_redis_unreachable_limits_still_hold_in_memory(upstream):
    gateway = gateway_for(accounts=upstream.url, REDIS_URL=f"redis://127.0.0.1:{free_port()}/0",
                          RATE_LIMIT_LOGIN_PER_EMAIL="2/minute").test_client()
    for _ in range(2):
        assert login(gateway, "ada@example.com").status_code == 401
    assert_rate_limited(login(gateway, "ada@example.com"))


def test_a_malformed_limit_stops_the_gateway_at_start(monkeypatch):
    from gateway.app import create_app
    from services.common.config import ConfigError
    from tests.support.tokens import TEST_SECRET
    from .conftest import TEST_JWT_KEYS
    monkeypatch.setenv("RATE_LIMIT_LOGIN_PER_IP", "lots")
    monkeypatch.setenv("JWT_SIGNING_KEYS", TEST_JWT_KEYS)
    with pytest.raises(ConfigError, match="RATE_LIMIT_LOGIN_PER_IP is malformed"):
        create_app({"INTERNAL_TOKEN_SECRET": TEST_SECRET})

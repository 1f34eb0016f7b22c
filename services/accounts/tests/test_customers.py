"""Registration and the signed-in customer, on the real database."""
import pytest
from sqlalchemy import text

from tests.support.tokens import auth_header

from .factories import STRONG_PASSWORD, customer_headers, register


def count(owner_engines, table):
    with owner_engines["accounts"].connect() as connection:
        return connection.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()


def test_register_answers_the_customer(client):
    body = register(client, email="Ada@Example.com", phone="+441632960961", national_id="AB123456C")
    assert set(body) == {"id", "email", "full_name", "kyc_status"}
    assert body["email"] == "Ada@Example.com" and body["kyc_status"] == "unverified"


def test_a_duplicate_email_is_409_whatever_its_case(client, owner_engines):
    register(client, email="grace@example.com")
    response = client.post("/api/v1/auth/register", headers=auth_header("accounts"), json={
        "email": "GRACE@example.COM", "password": STRONG_PASSWORD, "full_name": "Grace"})
    assert response.status_code == 409 and response.get_json()["code"] == "email_taken"
    assert count(owner_engines, "customers") == 1


@pytest.mark.parametrize("password,rule", [
    ("Short-1a", "min_length"),
    ("alllowercaseletters", "character_classes"),
    ("x" * 100 + "A1-" + "y" * 30, "max_length"),
    ("Hopper-2024-hopper", "contains_email"),
])
def test_a_weak_password_is_422_naming_the_rule(client, owner_engines, password, rule):
    response = client.post("/api/v1/auth/register", headers=auth_header("accounts"), json={
        "email": "hopper@example.com", "password": password, "full_name": "Grace Hopper"})
    body = response.get_json()
    assert response.status_code == 422 and body["code"] == "weak_password" and body["rule"] == rule
    assert rule in body["detail"] and "password" in body["errors"]
    assert count(owner_engines, "customers") == 0 and count(owner_engines, "audit_logs") == 0


def test_bad_fields_are_422_listing_them(client):
    response = client.post("/api/v1/auth/register", headers=auth_header("accounts"), json={
        "email": "not-an-email", "password": STRONG_PASSWORD, "full_name": "", "phone": "12"})
    assert response.status_code == 422
    assert {"email", "full_name", "phone"} <= set(response.get_json()["errors"])


def test_malformed_json_is_400_and_an_oversized_body_413(client, owner_engines):
    headers = {**auth_header("accounts"), "Content-Type": "application/json"}
    malformed = client.post("/api/v1/auth/register", data='{"email": ', headers=headers)
    assert malformed.status_code == 400 and malformed.mimetype == "application/problem+json"
    oversized = client.post("/api/v1/auth/register", data='{"email": "' + "a" * 1_100_000 + '"}', headers=headers)
    assert oversized.status_code == 413 and oversized.get_json()["code"] == "payload_too_large"
    assert count(owner_engines, "customers") == 0


def test_me_shows_the_customer_with_a_masked_national_id(client):
    customer = register(client, phone="+441632960961", national_id="AB123456C")
    response = client.get("/api/v1/me", headers=customer_headers(customer["id"]))
    body = response.get_json()
    assert response.status_code == 200 and body["id"] == customer["id"]
    assert body["phone"] == "+441632960961" and body["national_id"] == "*****456C"
    assert body["roles"] == ["customer"] and body["created_at"].endswith("Z")


def test_me_needs_a_customer(client):
    response = client.get("/api/v1/me", headers=auth_header("accounts"))
    assert response.status_code == 401 and response.get_json()["code"] == "unauthorized"


def test_encrypted_columns_hold_no_plaintext(client, owner_engines):
    register(client, email="pii@example.com", phone="+441632960961", national_id="AB123456C")
    with owner_engines["accounts"].connect() as connection:
        row = connection.execute(text(
            "SELECT phone_encrypted, national_id_encrypted, password_hash, customers::text AS whole "
            "FROM customers")).one()
    assert row.phone_encrypted.startswith("t1:") and row.national_id_encrypted.startswith("t1:")
    for secret in ("+441632960961", "441632960961", "AB123456C", STRONG_PASSWORD):
        assert secret not in row.whole
    assert row.password_hash.startswith("$argon2id$")

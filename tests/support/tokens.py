"""Internal tokens for tests that call a service directly, as the gateway would."""
from services.common.service_auth import mint_internal_token

TEST_SECRET = "test-internal-token-secret-with-enough-length"
TEST_JWT_SIGNING_KEYS = "test-1:test-jwt-signing-key-that-is-long-enough-0001"


def auth_header(audience: str, subject: str | None = None, roles=(), caller: str = "gateway",
                secret: str = TEST_SECRET) -> dict[str, str]:
    token = mint_internal_token(secret, audience, caller, subject, tuple(roles))
    return {"Authorization": f"Bearer {token}"}


def gateway_environment() -> dict[str, str]:
    """The internal-identity settings of a gateway process started by a test."""
    return {"INTERNAL_TOKEN_SECRET": TEST_SECRET}

"""FINOVA_ENV=production: every app refuses to start on a secret from .env.example, the dev stack
or the tests, or one with too little key material, and says which variable (never the value)."""
import secrets

import pytest
from cryptography.fernet import Fernet

from devstack import stack
from services.common.config import COMMON_SETTINGS, ConfigError, Setting, load_settings, weak_secret
from services.common.service_auth import development_signing_key, generate_signing_key, public_key_of
from tests.support.tokens import TEST_JWT_SIGNING_KEYS, TEST_SECRET, TEST_TRUSTED_KEYS

from deploy.tests.support import ENV_EXAMPLE, read_env_file

KEY = generate_signing_key()
TRUSTED = ",".join(f"{name}:{public_key_of(generate_signing_key())}" for name in ("gateway", "accounts"))
SETTINGS = COMMON_SETTINGS + [
    Setting("DATABASE_URL", str, None),
    Setting("JWT_SIGNING_KEYS", str, None, secret=True),
    Setting("PII_ENCRYPTION_KEYS", str, None, secret=True),
]
GOOD = {"FINOVA_ENV": "production", "INTERNAL_TOKEN_SECRET": KEY, "INTERNAL_TRUSTED_KEYS": TRUSTED,
        "DATABASE_URL": f"postgresql://accounts_app:{secrets.token_hex(32)}@db:5432/accounts",
        "JWT_SIGNING_KEYS": f"k2:{secrets.token_hex(32)},k1:{secrets.token_urlsafe(32)}",
        "PII_ENCRYPTION_KEYS": f"v1:{Fernet.generate_key().decode()}"}


def refused(**changes) -> str:
    with pytest.raises(ConfigError) as caught:
        load_settings(SETTINGS, environ={**GOOD, **changes})
    return str(caught.value)


def test_strong_secrets_start():
    values = load_settings(SETTINGS, environ=GOOD)
    assert values["FINOVA_ENV"] == "production" and values["INTERNAL_TOKEN_SECRET"] == KEY


def test_development_mode_takes_the_development_values():
    load_settings(SETTINGS, environ={**GOOD, "FINOVA_ENV": "development", "INTERNAL_TOKEN_SECRET": TEST_SECRET,
                                     "JWT_SIGNING_KEYS": stack.DEV_JWT_SIGNING_KEYS})
    load_settings(SETTINGS, environ={k: v for k, v in GOOD.items() if k != "FINOVA_ENV"} |
                  {"INTERNAL_TOKEN_SECRET": TEST_SECRET})


def _env_example_values():
    example = read_env_file(ENV_EXAMPLE)
    return sorted((name, value) for name, value in example.items())


@pytest.mark.parametrize("name,value", _env_example_values())
def test_every_env_example_value_is_refused(name, value):
    # Whatever setting it ends up in: as a secret, and as a database password.
    assert weak_secret(value) is not None, name
    message = refused(DATABASE_URL=f"postgresql://accounts_app:{value}@db:5432/accounts")
    assert "DATABASE_URL" in message and value not in message


@pytest.mark.parametrize("name,value", [
    ("JWT_SIGNING_KEYS", stack.DEV_JWT_SIGNING_KEYS),
    ("JWT_SIGNING_KEYS", TEST_JWT_SIGNING_KEYS),
    ("JWT_SIGNING_KEYS", "k1:" + "ab" * 32),                           # repetitive
    ("JWT_SIGNING_KEYS", f"k2:{secrets.token_hex(32)},k1:{secrets.token_hex(16)}"),  # 16 bytes in hex
    ("JWT_SIGNING_KEYS", "k1:" + "correct-horse-battery-staple-01"),   # 31 bytes
    ("PII_ENCRYPTION_KEYS", stack.DEV_PII_ENCRYPTION_KEYS),
    ("PII_ENCRYPTION_KEYS", "v1:" + "A" * 43 + "="),
    ("DATABASE_URL", f"postgresql://accounts_app:{stack.DEV_ADMIN_PASSWORD}@db/accounts"),
    ("DATABASE_URL", "postgresql://accounts_app:short@db/accounts"),
    ("INTERNAL_TOKEN_SECRET", TEST_SECRET),                            # a shared secret at all
    ("INTERNAL_TOKEN_SECRET", secrets.token_hex(32)),                  # strong, but shared
    ("INTERNAL_TOKEN_SECRET", development_signing_key("accounts")),    # the published dev key
    ("INTERNAL_TOKEN_SECRET", "ed25519:" + "AAAA" * 10 + "AAA"),        # 32 zero bytes
    ("INTERNAL_TRUSTED_KEYS", TEST_TRUSTED_KEYS),                      # trusts the dev keys
])
def test_weak_secrets_are_refused_naming_the_variable(name, value):
    message = refused(**{name: value})
    assert message.startswith("FINOVA_ENV=production: ") and name in message
    secret_part = value.split("://")[-1].split("@")[0].split(":")[-1] if "://" in value else value
    assert secret_part not in message


def test_the_dev_stack_environment_is_refused_in_production():
    """What `make up` gives each app (devstack/stack.py) never starts in production."""
    databases = {name: type("Db", (), {"app_url": f"postgresql://{name}_app:dev@127.0.0.1/{name}"})()
                 for name in ("accounts", "transactions")}
    environments = stack.app_environment({n: 1 for n in ("gateway", "accounts", "transactions", "preferences")},
                                         databases, "mongodb://127.0.0.1:1", "preferences")
    for name, environment in environments.items():
        with pytest.raises(ConfigError, match="INTERNAL_TOKEN_SECRET"):
            load_settings(SETTINGS, environ={**environment, "FINOVA_ENV": "production"})


def test_every_app_refuses_to_start(monkeypatch):
    from gateway.app import create_app as gateway_app
    from services.accounts.app import create_app as accounts_app
    from services.preferences.app import create_app as preferences_app
    from services.transactions.app import create_app as transactions_app
    base = {"FINOVA_ENV": "production", "INTERNAL_TOKEN_SECRET": generate_signing_key(),
            "INTERNAL_TRUSTED_KEYS": TRUSTED, "OUTBOX_RELAY": False}
    database = f"postgresql://x_app:{secrets.token_hex(32)}@127.0.0.1:1/none"
    cases = [
        (gateway_app, {"JWT_SIGNING_KEYS": stack.DEV_JWT_SIGNING_KEYS}, "JWT_SIGNING_KEYS"),
        (gateway_app, {"JWT_SIGNING_KEYS": f"k1:{secrets.token_hex(32)}", "INTERNAL_TOKEN_SECRET": TEST_SECRET},
         "INTERNAL_TOKEN_SECRET"),
        (accounts_app, {"DATABASE_URL": database, "PII_ENCRYPTION_KEYS": stack.DEV_PII_ENCRYPTION_KEYS},
         "PII_ENCRYPTION_KEYS"),
        (transactions_app, {"DATABASE_URL": "postgresql://transactions_app:change-me-transactions-app@db/t"},
         "DATABASE_URL"),
        (preferences_app, {"MONGO_URL": "mongodb://preferences_app:change-me-preferences-app@mongo/p"},
         "MONGO_URL"),
    ]
    for factory, config, variable in cases:
        with pytest.raises(ConfigError, match=variable):
            factory({**base, **config})


def test_a_service_in_production_needs_the_keys_it_trusts():
    from services.common.app_factory import create_service_app
    config = {"FINOVA_ENV": "production", "INTERNAL_TOKEN_SECRET": generate_signing_key()}
    with pytest.raises(ConfigError, match="INTERNAL_TRUSTED_KEYS is not set"):
        create_service_app("accounts", [], config)
    app, _api = create_service_app("accounts", [], {**config, "INTERNAL_TRUSTED_KEYS": TRUSTED})
    assert app.config["FINOVA_ENV"] == "production"
    # The gateway takes no internal tokens: it needs none.
    create_service_app("gateway", [], config, internal_guard=False)

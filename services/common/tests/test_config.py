import pytest

from services.common.config import ConfigError, Setting, as_bool, as_port, as_secret, as_url, load_settings

SETTINGS = [
    Setting("DATABASE_URL", as_url),
    Setting("PORT", as_port, 8080),
    Setting("DEBUG_SQL", as_bool, False),
    Setting("SECRET", as_secret, secret=True),
]
GOOD = {"DATABASE_URL": "postgresql://u@h/db", "SECRET": "x" * 40}


def test_reads_and_parses_values_from_the_environment():
    values = load_settings(SETTINGS, environ={**GOOD, "PORT": "9000", "DEBUG_SQL": "yes"})
    assert values == {"DATABASE_URL": "postgresql://u@h/db", "PORT": 9000, "DEBUG_SQL": True,
                      "SECRET": "x" * 40}


def test_defaults_apply_when_unset_or_empty():
    values = load_settings(SETTINGS, environ={**GOOD, "PORT": ""})
    assert values["PORT"] == 8080 and values["DEBUG_SQL"] is False


def test_a_missing_value_names_the_variable():
    with pytest.raises(ConfigError, match="^DATABASE_URL is not set$"):
        load_settings(SETTINGS, environ={"SECRET": "x" * 40})


@pytest.mark.parametrize("name,raw", [("PORT", "eighty"), ("PORT", "70000"), ("DEBUG_SQL", "maybe"),
                                      ("DATABASE_URL", "localhost")])
def test_a_malformed_value_names_the_variable(name, raw):
    with pytest.raises(ConfigError, match=f"^{name} is malformed"):
        load_settings(SETTINGS, environ={**GOOD, name: raw})


def test_a_malformed_secret_is_not_echoed():
    with pytest.raises(ConfigError) as caught:
        load_settings(SETTINGS, environ={**GOOD, "SECRET": "short-secret"})
    assert "SECRET is malformed (<hidden>)" in str(caught.value)
    assert "short-secret" not in str(caught.value)


def test_overrides_win_over_the_environment():
    values = load_settings(SETTINGS, overrides={"PORT": 1234, "EXTRA": 1}, environ=GOOD)
    assert values["PORT"] == 1234 and values["EXTRA"] == 1

"""Schemathesis over the gateway's merged OpenAPI document, as a customer and as an admin.

Every generated request (valid and invalid ones: the generation mode is "all") goes through
the real gateway to the real services, and every response meets every schemathesis check
(`--checks all`: no 5xx, status codes, content types, headers and bodies as the document
declares them, schema-valid requests accepted and schema-violating ones refused, required
headers, unsupported methods, authentication not ignored, ...) under the repository's
schemathesis.toml, the same file the CLI reads; plus our own: any 4xx/5xx is
`application/problem+json` with a stable `code`.

`make test` runs the short pass (FUZZ_EXAMPLES, default 30, examples per operation and
role, deterministic so CI is repeatable); `make fuzz` a long randomised one (see the
Makefile). The figures (cases sent, server errors, each failing request) are printed at the
end of the run and written to FUZZ_REPORT when that is set.
"""
from __future__ import annotations

import os
import tomllib
from pathlib import Path

import pytest
import schemathesis
from schemathesis.checks import CHECKS, load_all_checks

from .conftest import PROBLEM, FUZZ_TALLY

pytestmark = [pytest.mark.e2e, pytest.mark.security, pytest.mark.fuzz]

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "30"))
# Deterministic unless asked: the short pass in `make test` must not flake between runs.
RANDOM = os.environ.get("FUZZ_RANDOM", "") not in ("", "0")
# The coverage phase (schemathesis' deterministic boundary and type-confusion cases, about
# 2,000 per role here) is the long pass's: it alone takes two minutes on two cores.
COVERAGE = os.environ.get("FUZZ_COVERAGE", "") not in ("", "0")
# Ids of real resources the fuzzer may aim at (some of the time) so it gets past "not found".
AIMED_FIELDS = ("account_id", "from_account_id", "to_account_id", "transfer_id", "notification_id",
                "customer_id")


def problem_details(ctx, response, case):
    """Every error answer is RFC 9457 problem details with a stable `code`."""
    if response.status_code < 400:
        return None
    content_type = (response.headers.get("content-type") or [""])[0]
    assert content_type.startswith(PROBLEM), (
        f"{response.status_code} answered with Content-Type {content_type!r}, not {PROBLEM}: "
        f"{response.content[:300]!r}")
    try:
        body = response.json()
    except ValueError:
        raise AssertionError(f"{response.status_code} problem body is not JSON: {response.content[:300]!r}") from None
    assert isinstance(body, dict) and isinstance(body.get("code"), str) and body["code"], (
        f"{response.status_code} problem without a `code`: {response.content[:300]!r}")
    return None


@pytest.fixture(scope="module", params=["customer", "admin"])
def fuzz_role(request, fuzz_customer, admin):
    """Who the fuzzer is signed in as: a customer of its own, or the admin."""
    return request.param, (fuzz_customer if request.param == "customer" else admin)


CONFIG_FILE = Path(__file__).resolve().parents[2] / "schemathesis.toml"
load_all_checks()
ALL_CHECKS = CHECKS.get_all()


def fuzz_config(gateway: str) -> schemathesis.Config:
    """schemathesis.toml (the rules beyond one schema), with this run's server and volume."""
    settings = tomllib.loads(CONFIG_FILE.read_text())
    settings.update({"base-url": gateway, "request-timeout": 30, "suppress-health-check": ["all"],
                     "phases": {"coverage": {"enabled": COVERAGE}, "stateful": {"enabled": False}}})
    settings["generation"] = {**settings.get("generation", {}),
                              "mode": "all", "max-examples": EXAMPLES, "database": "none",
                              "deterministic": not RANDOM,
                              # Our token on every case: the 401 paths have their own tests (test_tokens.py).
                              "with-security-parameters": False}
    return schemathesis.Config.from_dict(settings)


@pytest.fixture(scope="module")
def fuzz_schema(gateway, fuzz_role):
    config = fuzz_config(gateway)
    schema = schemathesis.openapi.from_url(gateway + "/api/v1/openapi.json", config=config, timeout=30)
    assert "x-degraded" not in schema.raw_schema, "a service's OpenAPI was missing from the merged document"
    return schema


# schemathesis 4.32.5's fixture loader renames the running item through `Function._nodeid`,
# which pytest 9.2 no longer has (the id lives in `_id`); an alias that reads the real id and
# ignores the renaming lets it run (failures still name the operation in their subtest).
if not hasattr(pytest.Function, "_nodeid"):
    pytest.Function._nodeid = property(lambda node: node.nodeid, lambda node, _value: None)

schema = schemathesis.pytest.from_fixture("fuzz_schema")
# FUZZ_PATHS (a regular expression) narrows the run to some operations, to chase one finding.
if os.environ.get("FUZZ_PATHS"):
    schema = schema.include(path_regex=os.environ["FUZZ_PATHS"])


@schema.parametrize()
def test_every_check_and_every_error_is_a_problem(case, fuzz_role, suite):
    role, person = fuzz_role
    _aim(case, person.fuzz_ids)
    # The token is fetched per case: a long run outlives one access token (15 minutes).
    response = case.call(headers={"Authorization": f"Bearer {person.fresh_token()}"})
    FUZZ_TALLY.record(role, case, response, suite.log_dir)
    case.validate_response(response, checks=[*ALL_CHECKS, problem_details])


def _aim(case, ids: dict[str, str]) -> None:
    """Swap a generated id for a real one of the caller's half of the time (decided by the
    generated value itself, so Hypothesis still replays and shrinks the same case)."""
    for container in (case.path_parameters, case.query, case.body if isinstance(case.body, dict) else None):
        if not container:
            continue
        for name in AIMED_FIELDS:
            value = container.get(name)
            if isinstance(value, str) and name in ids and len(value) % 2 == 0:
                container[name] = ids[name]

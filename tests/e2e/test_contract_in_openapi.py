"""docs/api.md, the contract, and the merged OpenAPI document, which the running code produces,
stay in step: every method and path the contract's tables name is an operation of the
document (path parameters compared by position, not by name)."""
import re

import pytest
import requests

from devstack.stack import ROOT
from tests.e2e.test_accounts_through_gateway import gateway  # noqa: F401

pytestmark = pytest.mark.e2e

# Served outside the document on purpose: the document itself, the docs page, the probes.
OUTSIDE = {"/api/v1/openapi.json", "/docs", "/healthz", "/readyz"}
ROW = re.compile(r"^\|\s*((?:GET|POST|PUT|PATCH|DELETE)(?:\s*/\s*(?:GET|POST|PUT|PATCH|DELETE))*)\s*\|\s*([^|]+?)\s*\|")


def contract_operations() -> set[tuple[str, str]]:
    found = set()
    for line in (ROOT / "docs/api.md").read_text().splitlines():
        match = ROW.match(line)
        if not match:
            continue
        methods = [m.strip().lower() for m in match.group(1).split("/")]
        for path in (p.strip().strip("`") for p in match.group(2).split(",")):
            if path.startswith("/") and path not in OUTSIDE:
                found |= {(method, _shape(path)) for method in methods}
    return found


def _shape(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "{}", path.split("?")[0].rstrip("/"))


def test_the_contract_s_tables_are_read():
    operations = contract_operations()
    assert len(operations) >= 75 and ("post", "/api/v1/transfers") in operations


def test_every_operation_of_the_contract_is_in_the_merged_openapi(gateway):  # noqa: F811
    document = requests.get(gateway + "/api/v1/openapi.json", timeout=10).json()["paths"]
    served = {(method, _shape(path)) for path, item in document.items() for method in item
              if method in ("get", "post", "put", "patch", "delete")}
    missing = sorted(contract_operations() - served)
    assert not missing, f"in docs/api.md but not in the OpenAPI document: {missing}"


# Python-only regular expression syntax: OpenAPI's patterns are ECMA-262, where \Z and \A are
# not anchors, (?P<...>) is not a group and inline flags do not exist, so a client's generated
# validator would refuse (or wrongly accept) what the service does.
PYTHON_ONLY_SYNTAX = re.compile(r"\\[AZ]|\(\?P[<=]|\(\?[aiLmsux]+\)")


def _patterns(node, where=""):
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "pattern" and isinstance(value, str):
                yield where, value
            else:
                yield from _patterns(value, f"{where}/{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _patterns(value, f"{where}/{index}")


def test_every_pattern_in_the_merged_openapi_is_ecma_262(gateway):  # noqa: F811
    document = requests.get(gateway + "/api/v1/openapi.json", timeout=10).json()
    patterns = list(_patterns(document))
    assert len(patterns) >= 10
    python_only = [(where, pattern) for where, pattern in patterns if PYTHON_ONLY_SYNTAX.search(pattern)]
    assert not python_only, python_only

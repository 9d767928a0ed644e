"""A property-based fuzz of the whole API from its own OpenAPI document (schemathesis): with a valid
token, no input produces a 5xx, and every response matches the documented status codes and schemas.

Excluded: "schema-valid data must be accepted". Business rules that a schema cannot express answer 4xx
for valid-looking input on purpose (an unknown pose id is a 400, a short balance a 402, an avatar URL on a
private address a 400), and each of them is documented in the operation's responses.

The operations are driven with Hypothesis directly (schemathesis' pytest plugin does not yet run on this
pytest), one operation after another, so a failure names the operation and the smallest failing case.
"""

import pytest
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import positive_data_acceptance

EXAMPLES_PER_OPERATION = 30


def operations(schema):
    found = [result.ok() for result in schema.get_all_operations()]
    assert len(found) >= 20
    return found


def test_api_conforms_to_its_openapi_document(api_schema, fuzz_headers):
    failures = []
    for operation in operations(api_schema):

        @settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, suppress_health_check=list(HealthCheck),
                  database=None)  # fmt: skip
        @given(case=operation.as_strategy())
        def check(case):
            case.call_and_validate(headers=fuzz_headers, excluded_checks=[positive_data_acceptance])

        try:
            check()
        except Exception as error:  # noqa: BLE001 - collect every operation's failure, then report them all
            failures.append(f"{operation.method.upper()} {operation.path}: {error}")
    if failures:
        pytest.fail("\n\n".join(failures))

"""schemathesis against the app in-process: generated requests for every operation of
/api/schema/ (authenticated as an admin, on a real event and entry), and every answer must
conform to the document: no 500, a documented status, Content-Type, headers and body."""

from dataclasses import dataclass

import pytest
import schemathesis
from django.core import signals
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from liveblog.blog import services

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
# Bounded: the whole run stays well under a minute on two cores.
EXAMPLES = 25


# The document as the app serves it. (Loaded here rather than through
# schemathesis.pytest.from_fixture, which does not run under pytest 9.2: it sets the
# node's private `_nodeid`.)
schema = schemathesis.openapi.from_wsgi("/api/schema/", get_wsgi_application())


@pytest.fixture
def connection_kept(db):
    """As Django's test Client does: a request must not close the test's connection (and
    with it the transaction that keeps this test's data apart)."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@dataclass
class World:
    slug: str
    post_id: int
    token: str


@pytest.fixture
def world(connection_kept, event, admin, reporter) -> World:
    post, _ = services.post_publish(event=event, author=reporter, body="Doors *open*.")
    return World(event.slug, post.pk, services.token_issue(user=admin))


_cases: list[object] = []


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_every_answer_conforms_to_the_document(case, world):
    _aim(case, world)
    case.call_and_validate(
        base_url="http://testserver",
        headers={"Authorization": f"Bearer {world.token}"},
        checks=CHECKS,
    )


@schema.parametrize()
@settings(
    max_examples=EXAMPLES // 2,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_every_answer_to_an_anonymous_caller_conforms_to_the_document(case, world):
    """Without a token: reads answer, writes are 401 in the error shape, never a 500."""
    _aim(case, world)
    case.call_and_validate(base_url="http://testserver", checks=CHECKS)


def _aim(case, world) -> None:
    """Most cases on the real event and entry, so that writes get past the 404; every
    fourth keeps its generated path (unknown slugs and ids)."""
    _cases.append(case)
    if case.path_parameters and len(_cases) % 4:
        case.path_parameters["slug"] = world.slug
        if "post_id" in case.path_parameters:
            case.path_parameters["post_id"] = world.post_id

import pytest
from django.test import Client

from liveblog.blog.models import Membership
from tests.factories import AdminFactory, EventFactory, MembershipFactory, UserFactory

pytest_plugins = ["tests.browser"]


@pytest.fixture
def event(db):
    return EventFactory()


@pytest.fixture
def admin(db):
    return AdminFactory(username="admin")


@pytest.fixture
def reporter(event):
    return MembershipFactory(event=event, role=Membership.Role.REPORTER).user


@pytest.fixture
def editor(event):
    return MembershipFactory(event=event, role=Membership.Role.EDITOR).user


@pytest.fixture
def outsider(db):
    return UserFactory()


@pytest.fixture
def client_for():
    def make(user):
        client = Client()
        client.force_login(user)
        return client

    return make


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    """PBKDF2 costs ~0.3 s a user by design; tests create hundreds of users."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(scope="session", autouse=True)
def _close_stray_connections(django_db_setup, django_db_blocker):
    """Connections opened by worker threads (sync_to_async, thread pools) outlive their tests;
    end them so the test database can be dropped at the end of the session."""
    yield
    from django.db import connection

    testing = connection.settings_dict["NAME"].startswith("test_")
    if connection.vendor != "postgresql" or not testing:
        return
    with django_db_blocker.unblock(), connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )

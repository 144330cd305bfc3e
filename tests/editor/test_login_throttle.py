"""Logins are throttled per address and per account (issue 14, reproduction 2: 40 wrong
passwords on /editor/login/ and 20 on /admin/login/ all answered 200, and the right one
still worked after). A locked-out login answers 429 with a sentence saying what to do; an
admin unlocks it."""

import pytest
from django.conf import settings
from django.core.management import call_command
from django.test import Client

from tests.factories import AdminFactory, UserFactory

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery staple"
LOGINS = ["/editor/login/", "/admin/login/"]


@pytest.fixture
def person(db):
    return UserFactory(password=PASSWORD, is_staff=True)


def _login(path: str, username: str, password: str, address: str = "203.0.113.5"):
    return Client(REMOTE_ADDR=address).post(path, {"username": username, "password": password})


def _fail_until_locked(path: str, username: str, *, address: str = "203.0.113.5") -> int:
    for attempt in range(1, 4 * settings.AXES_FAILURE_LIMIT):
        response = _login(path, username, "wrong", address)
        if response.status_code == 429:
            return attempt
        assert response.status_code == 200, response.status_code  # the form, with its error
    raise AssertionError(f"{path}: never locked out")


@pytest.mark.parametrize("path", LOGINS)
def test_repeated_wrong_passwords_lock_the_account_out(path, person):
    attempt = _fail_until_locked(path, person.username)
    assert attempt == settings.AXES_FAILURE_LIMIT, "the failure that reaches the limit locks"

    locked = _login(path, person.username, PASSWORD)
    assert locked.status_code == 429, "not even the right password while locked"
    assert b"Too many failed sign-ins" in locked.content


def test_an_account_is_locked_whatever_address_the_guesses_come_from(person):
    for n in range(settings.AXES_FAILURE_LIMIT - 1):
        assert _login(LOGINS[0], person.username, "wrong", f"198.51.100.{n}").status_code == 200
    assert _login(LOGINS[0], person.username, "wrong", "198.51.100.99").status_code == 429
    assert _login(LOGINS[0], person.username, PASSWORD, "192.0.2.1").status_code == 429


def test_an_address_is_locked_whatever_accounts_it_guesses(db):
    for n in range(settings.AXES_FAILURE_LIMIT - 1):
        assert _login(LOGINS[0], f"nobody{n}", "wrong").status_code == 200
    assert _login(LOGINS[0], "one-more", "wrong").status_code == 429
    assert _login(LOGINS[0], "someone-else", "wrong").status_code == 429


def test_an_admin_unlocks_an_account_and_the_right_password_works_again(person):
    _fail_until_locked(LOGINS[0], person.username)
    call_command("axes_reset_username", person.username)
    call_command("axes_reset_ip", "203.0.113.5")
    response = _login(LOGINS[0], person.username, PASSWORD)
    assert response.status_code == 302


def test_admins_see_and_clear_lockouts_in_the_admin(person):
    _fail_until_locked(LOGINS[0], person.username)
    admin = Client()
    admin.force_login(AdminFactory())
    listing = admin.get("/admin/axes/accessattempt/")
    assert listing.status_code == 200 and person.username.encode() in listing.content


def test_signing_in_to_ones_own_account_does_not_clear_anothers_failures(person, db):
    """Review finding: with reset on success, an attacker's own correct sign-in between
    rounds of 9 guesses wiped the victim's count, so the lock-out never came."""
    own = UserFactory(password=PASSWORD)
    for _round in range(2):
        for _ in range(settings.AXES_FAILURE_LIMIT - 1):
            response = _login(LOGINS[0], person.username, "wrong", "198.51.100.50")
            if response.status_code == 429:
                return
        assert _login(LOGINS[0], own.username, PASSWORD, "198.51.100.50").status_code in (302, 429)
    assert _login(LOGINS[0], person.username, PASSWORD, "192.0.2.9").status_code == 429


def test_a_successful_sign_in_clears_that_accounts_own_failures(person):
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert _login(LOGINS[0], person.username, "wrong").status_code == 200
    assert _login(LOGINS[0], person.username, PASSWORD).status_code == 302
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert _login(LOGINS[0], person.username, "wrong").status_code == 200

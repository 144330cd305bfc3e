"""The selectors the live hub reads through, on the real database."""

import pytest

from liveblog.blog import selectors
from tests.factories import EventFactory

pytestmark = pytest.mark.django_db


def test_last_seqs_answers_the_events_that_exist_and_leaves_out_the_others():
    one, two = EventFactory(), EventFactory()
    type(one).objects.filter(pk=two.pk).update(last_seq=7)
    assert selectors.last_seqs([one.pk, two.pk, 10**12]) == {one.pk: one.last_seq, two.pk: 7}
    assert selectors.last_seqs([]) == {}


def test_live_keys_answers_id_and_creation_time_by_slug_for_the_slugs_that_exist():
    event = EventFactory()
    assert selectors.live_keys([event.slug, "no-such-event"]) == {
        event.slug: (event.pk, event.created_at)
    }

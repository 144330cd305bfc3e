from django.urls import reverse

from tests.factories import PostFactory


def test_urls_match_the_url_configuration(db):
    post = PostFactory()
    assert post.event.get_absolute_url() == reverse("reader:event", args=[post.event.slug])
    assert post.get_absolute_url() == reverse("reader:post", args=[post.event.slug, post.pk])
    post.event.slug = "renamed"
    assert post.get_absolute_url() == f"/events/renamed/posts/{post.pk}/"

import factory
from django.contrib.auth import get_user_model
from django.utils import timezone

from liveblog.blog.models import Event, Membership, Post
from liveblog.blog.rendering import markdown_to_html


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    password = factory.django.Password("correct horse battery staple")


class AdminFactory(UserFactory):
    is_staff = True
    is_superuser = True


class EventFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Event

    slug = factory.Sequence(lambda n: f"event-{n}")
    title = factory.Sequence(lambda n: f"Live report {n}")
    summary = "Follow the opening ceremony as it happens."
    status = Event.Status.LIVE
    starts_at = factory.LazyFunction(timezone.now)
    timezone = "Asia/Shanghai"


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    event = factory.SubFactory(EventFactory)
    user = factory.SubFactory(UserFactory)
    role = Membership.Role.REPORTER


class PostFactory(factory.django.DjangoModelFactory):
    """A stored post, bypassing services (no change log): for read-side tests only."""

    class Meta:
        model = Post

    event = factory.SubFactory(EventFactory)
    author = factory.SubFactory(UserFactory)
    body = factory.Faker("paragraph")
    body_html = factory.LazyAttribute(lambda o: markdown_to_html(o.body))
    published_at = factory.LazyFunction(timezone.now)

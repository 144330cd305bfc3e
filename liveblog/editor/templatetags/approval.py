"""What the entry form says to whom (SPEC §4): a contributor submits, a reporter publishes."""

from typing import Any

from django import template

from liveblog.blog import permissions
from liveblog.blog.models import Event

register = template.Library()


@register.simple_tag(takes_context=True)
def publishes(context: dict[str, Any], event: Event) -> bool:
    """Whether the signed-in user publishes in `event`, or submits for approval: the form's
    buttons say which (the service decides; this only chooses the words)."""
    return permissions.can_publish(context["request"].user, event)

"""Template filters of the reader pages."""

from django import template
from django.utils.safestring import SafeString, mark_safe

from liveblog.blog.models import Post
from liveblog.reader import fragments, summaries

register = template.Library()


@register.filter
def excerpt(body_html: str, words: int = 12) -> str:
    return summaries.excerpt(body_html, words)


@register.simple_tag
def entries(posts: "Post | list[Post] | None") -> SafeString:
    """`{% entries page.posts %}`: the entries' HTML, each from the entry cache when it can."""
    if posts is None:
        return mark_safe("")
    listed = [posts] if isinstance(posts, Post) else list(posts)
    return mark_safe("\n".join(fragments.rendered(listed)))  # noqa: S308 - rendered templates

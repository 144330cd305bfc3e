"""What blog/_images.html needs of an image: its payload (SPEC §6), the source to show where
srcset is not understood, and the srcset itself."""

from typing import Any
from urllib.parse import urljoin

from django import template

from liveblog.blog.models import Image
from liveblog.blog.payloads import image_payload

register = template.Library()


@register.filter
def picture(image: Image, origin: str = "") -> dict[str, Any]:
    """`origin` ("https://host", as the Atom feed passes it) makes every address absolute:
    a feed reader resolves a relative one against the feed's own address, or not at all."""
    payload = image_payload(image)
    renditions = [
        {**r, "url": urljoin(origin, r["url"])} if origin else r for r in payload["renditions"]
    ]
    # The middle width: a fair default for a browser that ignores srcset.
    middle = renditions[(len(renditions) - 1) // 2]
    srcset = ", ".join(f"{r['url']} {r['width']}w" for r in renditions)
    return {**payload, "src": middle["url"], "srcset": srcset}

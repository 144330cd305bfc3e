"""What blog/_images.html needs of an image: its payload (SPEC §6), the source to show where
srcset is not understood, and the srcset itself."""

from typing import Any

from django import template

from liveblog.blog.models import Image
from liveblog.blog.payloads import image_payload

register = template.Library()


@register.filter
def picture(image: Image) -> dict[str, Any]:
    payload = image_payload(image)
    renditions = payload["renditions"]
    # The middle width: a fair default for a browser that ignores srcset.
    middle = renditions[(len(renditions) - 1) // 2]
    srcset = ", ".join(f"{r['url']} {r['width']}w" for r in renditions)
    return {**payload, "src": middle["url"], "srcset": srcset}

"""The embed providers: the one place that knows which URLs a newsroom may embed, the frame
each one loads, the origins the Content-Security-Policy's frame-src lists (settings.py reads
frame_origins()), each frame's shape and the sentence that says what loading it shares.

A URL is recognised by its pattern alone: nothing is fetched when an entry renders (no
oEmbed call), so a render stays as fast and as offline as prose. Hosts are compared whole
(youtube.com.evil.example is not YouTube), ids must match strict patterns, and the frame URL
is built from those validated parts only, never from the reporter's string.

No Django import at module level beyond the lazy settings object: settings.py imports this
module to build its policy.
"""

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import SplitResult, parse_qs, quote, urlsplit

# The big public Mastodon instances whose status pages may be framed; a status on any other
# instance is a link card (each instance is an origin of its own in frame-src).
DEFAULT_MASTODON_INSTANCES = ["mastodon.social", "mastodon.online", "mstdn.social", "journa.host"]


@dataclass(frozen=True)
class Provider:
    key: str  # css class embed--<key>
    name: str  # shown on the card
    noun: str  # "Load the <noun> from <name>"
    origins: tuple[str, ...]  # every origin its frame loads from (frame-src)
    shape: str  # css class embed__box--<shape>: 16x9, 9x16, square, post, audio, list
    privacy: str  # what loading it shares, one sentence
    frame: Callable[[SplitResult], tuple[str, str] | None]  # url → (frame url, shape)


@dataclass(frozen=True)
class Embed:
    provider: Provider
    url: str  # the original URL, as linked
    frame_url: str
    shape: str

    @property
    def title(self) -> str:
        return f"{self.provider.noun.capitalize()} from {self.provider.name}"


@dataclass(frozen=True)
class LinkCard:
    url: str
    host: str
    path: str
    is_pdf: bool


def _shares(name: str) -> str:
    return (
        f"Loading it connects your browser to {name}, which receives your IP address "
        "and may set cookies."
    )


_YOUTUBE_ID = re.compile(r"[A-Za-z0-9_-]{11}")
_DIGITS = re.compile(r"[0-9]{1,20}")
_TIME = re.compile(r"(?:(\d{1,2})h)?(?:(\d{1,4})m)?(?:(\d{1,6})s?)?")
_SEGMENT = re.compile(r"[A-Za-z0-9._-]{1,100}")


def _path(parts: SplitResult) -> list[str]:
    """The path's segments; a trailing slash is allowed, an empty segment elsewhere is not."""
    path = parts.path[:-1] if parts.path.endswith("/") and parts.path != "/" else parts.path
    return path.split("/")[1:] if path.startswith("/") else []


def _query(parts: SplitResult, name: str) -> str:
    values = parse_qs(parts.query).get(name)
    return values[0] if values else ""


def _fullmatch(pattern: re.Pattern[str], value: str) -> bool:
    return bool(value) and pattern.fullmatch(value) is not None


def _start_seconds(value: str) -> int:
    """YouTube's t= and start= forms: 90, 90s, 1m30s, 1h2m3s; anything else is 0."""
    match = _TIME.fullmatch(value) if value else None
    if not match:
        return 0
    hours, minutes, seconds = (int(group or 0) for group in match.groups())
    return hours * 3600 + minutes * 60 + seconds


def _youtube(parts: SplitResult) -> tuple[str, str] | None:
    segments = _path(parts)
    shape = "16x9"
    if parts.hostname == "youtu.be" and len(segments) == 1:
        video = segments[0]
    elif segments == ["watch"]:
        video = _query(parts, "v")
    elif len(segments) == 2 and segments[0] in ("shorts", "embed", "live"):
        video = segments[1]
        shape = "9x16" if segments[0] == "shorts" else shape
    else:
        return None
    if parts.hostname == "youtu.be" and segments == ["watch"]:
        return None
    if not _fullmatch(_YOUTUBE_ID, video):
        return None
    start = _start_seconds(_query(parts, "t") or _query(parts, "start"))
    suffix = f"?start={start}" if start else ""
    return f"https://www.youtube-nocookie.com/embed/{video}{suffix}", shape


_VIMEO_HASH = re.compile(r"[0-9a-f]{6,20}")


def _vimeo(parts: SplitResult) -> tuple[str, str] | None:
    segments = _path(parts)
    if parts.hostname == "player.vimeo.com":
        if len(segments) != 2 or segments[0] != "video":
            return None
        video, secret = segments[1], _query(parts, "h")
    elif len(segments) in (1, 2):
        video, secret = segments[0], segments[1] if len(segments) == 2 else ""
    else:
        return None
    if not _fullmatch(_DIGITS, video) or (secret and not _fullmatch(_VIMEO_HASH, secret)):
        return None
    # dnt=1: Vimeo's player sets no tracking cookie and sends no analytics.
    suffix = f"?h={secret}&dnt=1" if secret else "?dnt=1"
    return f"https://player.vimeo.com/video/{video}{suffix}", "16x9"


_X_USER = re.compile(r"[A-Za-z0-9_]{1,15}")


def _x(parts: SplitResult) -> tuple[str, str] | None:
    segments = _path(parts)
    if len(segments) != 3 or segments[1] != "status":
        return None
    if not (_fullmatch(_X_USER, segments[0]) and _fullmatch(_DIGITS, segments[2])):
        return None
    return f"https://platform.twitter.com/embed/Tweet.html?id={segments[2]}&dnt=true", "post"


_INSTAGRAM_ID = re.compile(r"[A-Za-z0-9_-]{5,40}")


def _instagram(parts: SplitResult) -> tuple[str, str] | None:
    segments = _path(parts)
    if len(segments) != 2 or segments[0] not in ("p", "reel", "tv"):
        return None
    if not _fullmatch(_INSTAGRAM_ID, segments[1]):
        return None
    kind = "reel" if segments[0] == "reel" else "p"
    return f"https://www.instagram.com/{kind}/{segments[1]}/embed", "post"


# A DID (did:plc:…, did:web:…) or a handle (a domain name); a record key (TID).
_BLUESKY_ACTOR = re.compile(
    r"did:plc:[a-z2-7]{24}|did:web:[a-z0-9.-]{1,253}|(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}"
)
_BLUESKY_RKEY = re.compile(r"[a-z2-7]{13}")


def _bluesky(parts: SplitResult) -> tuple[str, str] | None:
    segments = _path(parts)
    if len(segments) != 4 or segments[0] != "profile" or segments[2] != "post":
        return None
    actor, rkey = segments[1].lower(), segments[3]
    if not (_fullmatch(_BLUESKY_ACTOR, actor) and _fullmatch(_BLUESKY_RKEY, rkey)):
        return None
    return f"https://embed.bsky.app/embed/{actor}/app.bsky.feed.post/{rkey}", "post"


_MASTODON_USER = re.compile(r"@[A-Za-z0-9_]{1,30}")


def _mastodon(parts: SplitResult) -> tuple[str, str] | None:
    segments = _path(parts)
    if len(segments) != 2 or not _fullmatch(_MASTODON_USER, segments[0]):
        return None
    if not _fullmatch(_DIGITS, segments[1]):
        return None
    return f"https://{parts.hostname}/{segments[0]}/{segments[1]}/embed", "post"


_TIKTOK_USER = re.compile(r"@[A-Za-z0-9_.]{1,24}")


def _tiktok(parts: SplitResult) -> tuple[str, str] | None:
    segments = _path(parts)
    if len(segments) != 3 or segments[1] != "video":
        return None
    if not (_fullmatch(_TIKTOK_USER, segments[0]) and _fullmatch(_DIGITS, segments[2])):
        return None
    return f"https://www.tiktok.com/embed/v2/{segments[2]}", "9x16"


_FACEBOOK_PAGE = re.compile(r"[A-Za-z0-9.]{1,80}")
_FACEBOOK_POST = re.compile(r"[0-9]{1,20}|pfbid[A-Za-z0-9]{10,80}")


def _facebook(parts: SplitResult) -> tuple[str, str] | None:
    segments = _path(parts)
    if len(segments) != 3 or segments[1] not in ("posts", "videos"):
        return None
    if not (_fullmatch(_FACEBOOK_PAGE, segments[0]) and _fullmatch(_FACEBOOK_POST, segments[2])):
        return None
    canonical = f"https://www.facebook.com/{segments[0]}/{segments[1]}/{segments[2]}/"
    plugin = "video" if segments[1] == "videos" else "post"
    href = quote(canonical, safe="")
    shape = "16x9" if plugin == "video" else "post"
    return f"https://www.facebook.com/plugins/{plugin}.php?href={href}&show_text=true", shape


def _soundcloud(parts: SplitResult) -> tuple[str, str] | None:
    segments = _path(parts)
    if len(segments) == 3 and segments[1] == "sets":
        shape = "list"
    elif len(segments) == 2 and segments[1] not in ("sets", "tracks", "likes", "reposts"):
        shape = "audio"
    else:
        return None
    if not all(_fullmatch(_SEGMENT, segment) for segment in segments):
        return None
    track = quote("https://soundcloud.com/" + "/".join(segments), safe="")
    return f"https://w.soundcloud.com/player/?url={track}", shape


_SPOTIFY_ID = re.compile(r"[A-Za-z0-9]{22}")
_SPOTIFY_KINDS = {"track": "audio", "episode": "audio", "album": "list", "playlist": "list",
                  "show": "list"}  # fmt: skip
_SPOTIFY_LOCALE = re.compile(r"intl-[a-z]{2}(?:-[A-Za-z]{2})?")


def _spotify(parts: SplitResult) -> tuple[str, str] | None:
    segments = _path(parts)
    if len(segments) == 3 and _fullmatch(_SPOTIFY_LOCALE, segments[0]):
        segments = segments[1:]
    if len(segments) != 2 or segments[0] not in _SPOTIFY_KINDS:
        return None
    if not _fullmatch(_SPOTIFY_ID, segments[1]):
        return None
    return f"https://open.spotify.com/embed/{segments[0]}/{segments[1]}", _SPOTIFY_KINDS[
        segments[0]
    ]


def _provider(key: str, name: str, noun: str, origin: str, shape: str, frame: Any) -> Provider:
    return Provider(key, name, noun, (origin,), shape, _shares(name), frame)


YOUTUBE = _provider("youtube", "YouTube", "video", "https://www.youtube-nocookie.com", "16x9",
                    _youtube)  # fmt: skip
VIMEO = _provider("vimeo", "Vimeo", "video", "https://player.vimeo.com", "16x9", _vimeo)
X = _provider("x", "X", "post", "https://platform.twitter.com", "post", _x)
INSTAGRAM = _provider("instagram", "Instagram", "post", "https://www.instagram.com", "post",
                      _instagram)  # fmt: skip
BLUESKY = _provider("bluesky", "Bluesky", "post", "https://embed.bsky.app", "post", _bluesky)
TIKTOK = _provider("tiktok", "TikTok", "video", "https://www.tiktok.com", "9x16", _tiktok)
FACEBOOK = _provider("facebook", "Facebook", "post", "https://www.facebook.com", "post",
                     _facebook)  # fmt: skip
SOUNDCLOUD = _provider("soundcloud", "SoundCloud", "audio", "https://w.soundcloud.com", "audio",
                       _soundcloud)  # fmt: skip
SPOTIFY = _provider("spotify", "Spotify", "audio", "https://open.spotify.com", "audio", _spotify)

# Each host, matched whole and lower-cased, to its provider.
HOSTS: dict[str, Provider] = {
    **dict.fromkeys(["youtube.com", "www.youtube.com", "m.youtube.com", "youtu.be"], YOUTUBE),
    **dict.fromkeys(["vimeo.com", "www.vimeo.com", "player.vimeo.com"], VIMEO),
    **dict.fromkeys(
        ["x.com", "www.x.com", "twitter.com", "www.twitter.com", "mobile.twitter.com"], X
    ),
    **dict.fromkeys(["instagram.com", "www.instagram.com"], INSTAGRAM),
    "bsky.app": BLUESKY,
    **dict.fromkeys(["tiktok.com", "www.tiktok.com"], TIKTOK),
    **dict.fromkeys(["facebook.com", "www.facebook.com", "m.facebook.com"], FACEBOOK),
    **dict.fromkeys(["soundcloud.com", "www.soundcloud.com", "m.soundcloud.com"], SOUNDCLOUD),
    "open.spotify.com": SPOTIFY,
}
PROVIDERS = (YOUTUBE, VIMEO, X, INSTAGRAM, BLUESKY, TIKTOK, FACEBOOK, SOUNDCLOUD, SPOTIFY)


def mastodon(instance: str) -> Provider:
    return Provider("mastodon", "Mastodon", "post", (f"https://{instance}",), "post",
                    _shares(f"the Mastodon server {instance}"), _mastodon)  # fmt: skip


HOST_NAME = re.compile(r"(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}")


def frame_origins(mastodon_instances: Iterable[str]) -> list[str]:
    """Exactly the origins the frames of recognised URLs load from: the policy's frame-src."""
    origins = [origin for provider in PROVIDERS for origin in provider.origins]
    origins += [f"https://{instance}" for instance in mastodon_instances]
    return list(dict.fromkeys(origins))


def recognise(url: str, *, mastodon_instances: Iterable[str] = ()) -> Embed | LinkCard | None:
    """The embed an http(s) URL names, else its link card; None when it is no web address."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    host = parts.hostname or ""
    if parts.scheme not in ("http", "https") or not host:
        return None
    provider = HOSTS.get(host) if host not in mastodon_instances else mastodon(host)
    if provider is not None and port is None and "@" not in parts.netloc:
        found = provider.frame(parts)
        if found is not None:
            return Embed(provider, url, found[0], found[1])
    is_pdf = parts.path.lower().endswith(".pdf")
    return LinkCard(url=url, host=host, path=parts.path or "/", is_pdf=is_pdf)

"""Settings for the live blog. Everything configurable comes from the environment.

With no DATABASE_URL / REDIS_URL the project runs embedded (SQLite, in-memory channel
layer, one process): that is `make run`'s development default and nothing more.
"""

from datetime import timedelta
from pathlib import Path

from csp.constants import NONCE, NONE, SELF
from django.core.exceptions import ImproperlyConfigured

from liveblog.blog import embeds
from liveblog.env import (
    envbool,
    envchoice,
    envdatabase,
    envfloat,
    envint,
    envlist,
    envredis,
    envredislist,
    envrequired,
    envstr,
    envurl,
)

BASE_DIR = Path(__file__).resolve().parent.parent

# Development default: on. Production sets DEBUG=0 (and then SECRET_KEY is required).
DEBUG = envbool("DEBUG", True)
_DEV_SECRET = "dev-only-insecure-secret-key-do-not-use-in-production"  # noqa: S105
SECRET_KEY = envstr("SECRET_KEY", _DEV_SECRET if DEBUG else "")
if not SECRET_KEY:
    raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off.")

ALLOWED_HOSTS = envlist("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = envlist("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.sitemaps",
    "channels",
    "axes",
    "liveblog.blog",
    "liveblog.reader",
    "liveblog.editor",
    "liveblog.api",
]

MIDDLEWARE = [
    "liveblog.live.publish.PushAfterResponseMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "liveblog.middleware.ContentSecurityPolicy",  # django-csp's, with per-page nonces
    "django_permissions_policy.PermissionsPolicyMiddleware",
    "axes.middleware.AxesMiddleware",  # a locked-out login answers 429 (AXES_* below)
    # The request's address for the audit log's entries (liveblog/blog/audit.py).
    "liveblog.middleware.AuditAddressMiddleware",
    # Last, and sync only: the chain runs in the request's thread (liveblog/middleware.py).
    "liveblog.middleware.SyncChain",
]

ROOT_URLCONF = "liveblog.urls"
ASGI_APPLICATION = "liveblog.asgi.application"
WSGI_APPLICATION = "liveblog.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "liveblog.reader.context_processors.brand",
            ],
        },
    }
]

DATABASES = {"default": envdatabase("DATABASE_URL", f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
_DATABASE_POOL = {
    "idle": envint("DATABASE_POOL_IDLE", 8),
    "idle_max_age": envint("DATABASE_POOL_MAX_AGE", 300),
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # Our own engine for postgres:// URLs: Django's PostgreSQL backend (psycopg2, as SPEC §2
    # says) that keeps the connections a process has finished with for its next requests.
    # Under ASGI each request runs in a new thread, so without it every request logs in
    # (2.4-3.7 ms direct, ~4 ms of CPU plus pgbouncer's one thread through pgbouncer), and
    # Django's own pool needs psycopg 3. It keeps DATABASE_POOL_IDLE clean idle connections,
    # none older than DATABASE_POOL_MAX_AGE seconds; 0 idle turns it off. Why and how:
    # liveblog/db/postgresql/base.py; figures: bench/RESULTS.md.
    DATABASES["default"]["ENGINE"] = "liveblog.db.postgresql"
    DATABASES["default"].setdefault("OPTIONS", {}).update(_DATABASE_POOL)
# Behind pgbouncer in transaction pooling mode, server-side cursors cannot be used.
DATABASES["default"]["DISABLE_SERVER_SIDE_CURSORS"] = envbool("DATABASE_POOLED", False)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = envredis("REDIS_URL")
if REDIS_URL:
    # redis-py 8 made socket_timeout default to 5 s; channels-redis' idle blocking read
    # then fails every 5 s and closes idle WebSockets with 1011 (django/channels_redis#422).
    # No socket timeout: liveness comes from TCP keepalive and health checks instead.
    # CHANNEL_REDIS_URLS shards the live fan-out over several Redis servers (each event's
    # group lives on one of them, by consistent hash); REDIS_URL alone serves everything.
    _redis_hosts = [
        {
            "address": url,
            "socket_timeout": None,
            "socket_connect_timeout": 2,
            "socket_keepalive": True,
            "health_check_interval": 15,
        }
        for url in envredislist("CHANNEL_REDIS_URLS", [REDIS_URL])
    ]
    CHANNEL_LAYERS = {
        "default": {
            # Pub/Sub publishes once per group rather than once per member: fan-out cost
            # does not grow with the number of readers.
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            "CONFIG": {"hosts": _redis_hosts, "prefix": envstr("CHANNEL_PREFIX", "liveblog")},
        }
    }
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            # The same namespace as the channel layer's: two sites (or test runs) on one
            # Redis keep their rate limits and cached pages apart.
            "KEY_PREFIX": envstr("CHANNEL_PREFIX", "liveblog"),
        }
    }
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
# Logins (the editor's and the admin's) are throttled by django-axes: after
# AXES_FAILURE_LIMIT failures from one address, or for one account from anywhere, further
# attempts answer 429 for AXES_COOLOFF_TIME; an admin unlocks sooner (admin: Axes > Access
# attempts, or `manage.py axes_reset_username <name>` / `axes_reset_ip <address>`).
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = envint("LOGIN_FAILURE_LIMIT", 10, minimum=1)
AXES_COOLOFF_TIME = timedelta(minutes=envint("LOGIN_LOCKOUT_MINUTES", 15, minimum=1))
AXES_LOCKOUT_PARAMETERS = ["ip_address", "username"]  # each on its own
# Not axes' reset on success: it clears every attempt matching the address *or* the name,
# so an attacker signing in to their own account between rounds of guesses would clear
# the victim's count. A success clears that account's own failures only (blog/apps.py).
AXES_RESET_ON_SUCCESS = False
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
# The client's address as the server already resolved it: only the trusted proxy's
# X-Forwarded-For counts (uvicorn's FORWARDED_ALLOW_IPS), never one a client sends.
AXES_IPWARE_META_PRECEDENCE_ORDER = ["REMOTE_ADDR"]
AXES_VERBOSE = False
LOGIN_URL = "editor:login"
LOGIN_REDIRECT_URL = "editor:home"
LOGOUT_REDIRECT_URL = "reader:home"

# One interface language per site, the newsroom's: the entries are written in it, so the
# page's <html lang> is right for them, a CDN needs no Vary: Accept-Language, and live
# fragments (rendered once per change) read the same for every reader.
LANGUAGES = [("en", "English"), ("fr", "Français")]
LANGUAGE_CODE = envstr("LANGUAGE_CODE", "en")
if LANGUAGE_CODE not in {code for code, _ in LANGUAGES}:
    raise ImproperlyConfigured(
        f"LANGUAGE_CODE={LANGUAGE_CODE!r} is not valid: expected one of "
        + ", ".join(code for code, _ in LANGUAGES)
        + "."
    )
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
# collectstatic's output (the Dockerfile's default); tests/deploy collects into a temp dir.
STATIC_ROOT = Path(envstr("STATIC_ROOT", str(BASE_DIR / "staticfiles")))
STATICFILES_DIRS = [BASE_DIR / "static"]
# Uploaded photos (liveblog/blog/images.py) go through Django's storage API: files under
# MEDIA_ROOT, or an S3 bucket (django-storages) with MEDIA_STORAGE=s3. Either way the app
# serves them itself at /media/<name> (liveblog/http/media.py); nginx serves the files first.
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(envstr("MEDIA_ROOT", str(BASE_DIR / "media")))
MEDIA_STORAGE = envchoice("MEDIA_STORAGE", "filesystem", ("filesystem", "s3"))
_MEDIA: dict[str, object]
if MEDIA_STORAGE == "s3":
    _needed = "when MEDIA_STORAGE=s3"
    _MEDIA = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": envrequired("AWS_STORAGE_BUCKET_NAME", _needed),
            "endpoint_url": envurl("AWS_S3_ENDPOINT_URL", "") or None,
            "access_key": envrequired("AWS_ACCESS_KEY_ID", _needed),
            "secret_key": envrequired("AWS_SECRET_ACCESS_KEY", _needed),
            "region_name": envstr("AWS_S3_REGION_NAME", "") or None,
            # Names are unique (a uuid each): never overwrite, never sign (the app serves).
            "file_overwrite": False,
            "default_acl": None,
        },
    }
else:
    _MEDIA = {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": MEDIA_ROOT, "base_url": MEDIA_URL},
    }
STORAGES = {
    "default": _MEDIA,
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "liveblog.storage.StaticFiles"
        )
    },
}

# Request bodies: the API refuses anything larger with 413 (SPEC §6).
DATA_UPLOAD_MAX_MEMORY_SIZE = 1024 * 1024
LIVEBLOG_MAX_BODY_CHARS = 50_000
LIVEBLOG_MAX_HEADLINE_CHARS = 300
# Photos (liveblog/blog/images.py): what an upload may be, and the widths stored of it.
LIVEBLOG_MAX_IMAGE_BYTES = envint("LIVEBLOG_MAX_IMAGE_BYTES", 20 * 1024 * 1024, minimum=1)
LIVEBLOG_MAX_IMAGE_PIXELS = envint("LIVEBLOG_MAX_IMAGE_PIXELS", 50_000_000, minimum=1)
LIVEBLOG_IMAGE_WIDTHS = (480, 960, 1600, 2400)  # the last is the widest stored
LIVEBLOG_MAX_ALT_CHARS = 500
LIVEBLOG_MAX_CAPTION_CHARS = 1000
LIVEBLOG_MAX_CREDIT_CHARS = 200
LIVEBLOG_MAX_IMAGES_PER_POST = 20
# An autosaved draft's other fields (flags, time, the version it is based on), as JSON.
LIVEBLOG_MAX_DRAFT_FIELDS_BYTES = 16 * 1024
LIVEBLOG_PAGE_SIZE = 50
LIVEBLOG_CATCHUP_LIMIT = 500
# The recent history of every event's live frames (liveblog/live/history.py): in Redis when
# there is one, so that any process can replay a reader's gap without PostgreSQL.
LIVEBLOG_HISTORY_URL = REDIS_URL
LIVEBLOG_HISTORY_PREFIX = envstr("CHANNEL_PREFIX", "liveblog")
LIVEBLOG_RATE_LIMITS = envbool("LIVEBLOG_RATE_LIMITS", True)
# How often `manage.py worker` looks for due scheduled entries and automatic event ends, in
# seconds (it also wakes for the next one due, if sooner): an entry reaches readers within
# this much of its time, plus the push.
LIVEBLOG_WORKER_INTERVAL = envfloat("LIVEBLOG_WORKER_INTERVAL", 0.5, minimum=0.05)
LIVEBLOG_RATE_LIMIT_WRITES_PER_MINUTE = envint("LIVEBLOG_RATE_LIMIT_WRITES_PER_MINUTE", 120)
# A photo costs its pixels, not its bytes (a 35-byte GIF may declare 49 megapixels: about
# 1 s of CPU and hundreds of MB to store): uploads have a window of their own, per user.
LIVEBLOG_RATE_LIMIT_UPLOADS_PER_MINUTE = envint(
    "LIVEBLOG_RATE_LIMIT_UPLOADS_PER_MINUTE", 20, minimum=1
)
# Open live sockets one client address may hold in one process (liveblog/live/routing.py).
LIVEBLOG_SOCKETS_PER_ADDRESS = envint("LIVEBLOG_SOCKETS_PER_ADDRESS", 1000, minimum=1)

SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False  # the editor's script reads it for its own fetch calls
# JSON under /api/ (SPEC §6: every response there is JSON), Django's page elsewhere.
CSRF_FAILURE_VIEW = "liveblog.api.errors.csrf_failure"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "strict-origin-when-cross-origin"
X_FRAME_OPTIONS = "DENY"
if not DEBUG:
    SECURE_SSL_REDIRECT = envbool("SECURE_SSL_REDIRECT", True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    # Secure whatever SECURE_SSL_REDIRECT says: behind a TLS proxy that does the redirect
    # itself the cookies must still never travel over plain HTTP. Only their own variables
    # turn it off (plain HTTP on a test machine). Nothing is silenced: `check --deploy`
    # warns about whatever production would really run without.
    SESSION_COOKIE_SECURE = envbool("SESSION_COOKIE_SECURE", True)
    CSRF_COOKIE_SECURE = envbool("CSRF_COOKIE_SECURE", True)
    SECURE_HSTS_SECONDS = envint("SECURE_HSTS_SECONDS", 31_536_000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True

# Content-Security-Policy (django-csp, with liveblog.middleware.ContentSecurityPolicy): scripts
# run only with the page's nonce (`nonce="{{ request.csp_nonce }}"` on every <script>; a
# public page's nonce belongs to its ETag, so cached copies and 304s stay consistent), and
# nothing loads from another site. Images: this site's own, plus LIVEBLOG_IMAGE_ORIGINS
# (where it serves uploads from, if elsewhere; the Markdown renderer shows any other image as
# a link). Frames: LIVEBLOG_EMBED_FRAME_ORIGINS, exactly the origins of the embeds' providers
# (liveblog/blog/embeds.py, with the Mastodon instances named here), loaded only when a reader
# clicks a card. Sockets:
# this site's own origin, added per request by the middleware. Browsers report violations to
# /csp-report (liveblog/ops.py), logged by `liveblog.csp`.
LIVEBLOG_IMAGE_ORIGINS: list[str] = []
LIVEBLOG_EMBED_MASTODON_INSTANCES = envlist(
    "LIVEBLOG_EMBED_MASTODON_INSTANCES", embeds.DEFAULT_MASTODON_INSTANCES
)
if not all(embeds.HOST_NAME.fullmatch(host) for host in LIVEBLOG_EMBED_MASTODON_INSTANCES):
    raise ImproperlyConfigured(
        f"LIVEBLOG_EMBED_MASTODON_INSTANCES={','.join(LIVEBLOG_EMBED_MASTODON_INSTANCES)!r} is"
        " not valid: expected lower-case host names separated by commas."
    )
LIVEBLOG_EMBED_FRAME_ORIGINS: list[str] = embeds.frame_origins(LIVEBLOG_EMBED_MASTODON_INSTANCES)
CSP_REPORT_PATH = "/csp-report"
CSP_REPORTS_PER_MINUTE = envint("CSP_REPORTS_PER_MINUTE", 30, minimum=1)
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [NONCE],
        "style-src": [SELF],
        "img-src": [SELF, "data:", *LIVEBLOG_IMAGE_ORIGINS],
        "connect-src": [SELF],
        "frame-src": LIVEBLOG_EMBED_FRAME_ORIGINS or [NONE],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
        "upgrade-insecure-requests": not DEBUG and SECURE_SSL_REDIRECT,
        "report-uri": [CSP_REPORT_PATH],
        "report-to": "csp",
    }
}
# Django's admin (5.2) puts no nonce on its own scripts: under /admin/ its static files run.
CSP_ADMIN_SCRIPT_SRC = [SELF]
# Browser features no page uses, refused for our pages and any frame in them
# (django-permissions-policy). Only features Chromium knows: an unknown one is an error in
# every page's console (ambient-light-sensor, bluetooth and web-share are, in Chromium 156;
# sharing an entry works by web-share's default, this site only). Copy link needs the last.
_UNUSED_FEATURES = (
    "accelerometer", "autoplay", "browsing-topics", "camera", "display-capture",
    "geolocation", "gyroscope", "hid", "idle-detection", "interest-cohort", "local-fonts",
    "magnetometer", "microphone", "midi", "otp-credentials", "payment",
    "publickey-credentials-get", "screen-wake-lock", "serial", "usb", "window-management",
    "xr-spatial-tracking",
)  # fmt: skip
PERMISSIONS_POLICY: dict[str, list[str]] = {
    **{feature: [] for feature in _UNUSED_FEATURES},
    "clipboard-write": ["self"],
}

# /metrics (Prometheus): with METRICS_TOKEN set, scrapers send it as a bearer token. Without
# one it is open only in development, or where METRICS_PUBLIC=1 says /metrics is reachable
# from an internal network alone; the shipped nginx never forwards it.
METRICS_TOKEN = envstr("METRICS_TOKEN", "")
METRICS_PUBLIC = envbool("METRICS_PUBLIC", DEBUG)

LOG_FORMAT = envstr("LOG_FORMAT", "plain")
if LOG_FORMAT not in ("plain", "json"):
    raise ImproperlyConfigured(f"LOG_FORMAT={LOG_FORMAT!r} is not valid: expected plain or json.")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "format": "%(asctime)s %(levelname)s %(name)s %(process)d %(message)s",
        },
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT}},
    "root": {"handlers": ["console"], "level": envstr("LOG_LEVEL", "INFO")},
    "loggers": {"django.channels.server": {"level": "WARNING"}},
}

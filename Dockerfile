# The production image: one ASGI process per container; scale with replicas.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app

COPY pyproject.toml README.md ./
COPY liveblog ./liveblog
RUN pip install .

COPY . .
RUN DEBUG=0 SECRET_KEY=collectstatic-only python manage.py collectstatic --noinput

RUN useradd --system --uid 10001 liveblog \
    && mkdir -p /srv/media && chown liveblog /srv/media  # a new volume takes this owner
USER liveblog
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s --retries=3 \
  CMD python -c "import urllib.request,sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=2).status != 200)"
# uvicorn with uvloop, httptools and the sans-I/O websockets protocol: 2-2.6x less CPU per
# delivered frame than daphne here (bench/RESULTS.md). Compression off: ~100 KiB per reader.
CMD ["uvicorn", "liveblog.asgi:application", "--host", "0.0.0.0", "--port", "8000", \
     "--loop", "uvloop", "--http", "httptools", "--ws", "websockets-sansio", \
     "--ws-per-message-deflate", "false", "--lifespan", "off", "--backlog", "4096", \
     "--proxy-headers", "--no-access-log", "--timeout-graceful-shutdown", "5"]
# --timeout-graceful-shutdown: on SIGTERM uvicorn waits for every response to finish, and an
# event stream (/sse/) never does; after 5 s the rest are cancelled (their browsers reconnect
# elsewhere with Last-Event-ID), before Docker's kill at 10 s.
# --proxy-headers believes X-Forwarded-For only from FORWARDED_ALLOW_IPS (uvicorn's variable;
# default 127.0.0.1): set it to the proxy's address, never to '*'.

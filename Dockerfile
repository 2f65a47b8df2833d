# peerbot: one image for the bot and its command line (`docker compose run --rm bot <command>`).
# Build: docker build -t peerbot .   Run: see docker-compose.yml and README "Deployment".

FROM python:3.11-slim AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY handlers ./handlers
COPY storage ./storage
RUN python -m venv /opt/venv && /opt/venv/bin/pip install .

FROM python:3.11-slim
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PEERBOT_CONTENT_DIR=/app/content \
    PEERBOT_HTTP_HOST=0.0.0.0 \
    PEERBOT_HTTP_PORT=8080
RUN groupadd --system --gid 10001 peerbot \
    && useradd --system --uid 10001 --gid peerbot --home-dir /app --shell /usr/sbin/nologin peerbot \
    && mkdir /app /data && chown peerbot:peerbot /app /data
COPY --from=build /opt/venv /opt/venv
WORKDIR /app
# Content is read-only for the bot (owned by root); /app itself is the bot's working directory.
COPY content ./content
USER peerbot
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('PEERBOT_HTTP_PORT', '8080'), timeout=4)"]
# Migrations first, then the command (default `run`, which serves every adapter with a token).
ENTRYPOINT ["/bin/sh", "-c", "peerbot db upgrade && exec peerbot \"$@\"", "peerbot"]
CMD ["run"]

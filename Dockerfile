# fieldops: one image for web (gunicorn), Celery worker and Celery beat.
#   docker build -t fieldops .      (or: docker compose up --build, see docker-compose.yml)
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    UV_PROJECT_ENVIRONMENT=/app/.venv \
    UV_COMPILE_BYTECODE=1 \
    UV_NO_CACHE=1 \
    PATH=/app/.venv/bin:$PATH \
    FIELDOPS_VAR_DIR=/app/var \
    STATIC_ROOT=/app/staticfiles \
    WEB_CONCURRENCY=3

WORKDIR /app

# Dependencies first, exactly the versions uv.lock names (as dev.py and CI install them;
# uv at the version dev.py pins): this layer is rebuilt only when the lock changes.
COPY pyproject.toml uv.lock ./
RUN pip install uv==0.13.9 \
    && uv sync --locked --no-install-project

# The project (editable, so BASE_DIR stays /app with its templates/ and locale/),
# the npm packages npm.toml pins fetched and verified, translations compiled with Babel,
# static files collected for WhiteNoise. The
# SECRET_KEY here only lets the settings load; it is not in the final environment.
COPY . .
RUN uv sync --locked \
    && python dev.py npm \
    && python dev.py compilemessages \
    && SECRET_KEY=build-time-dummy-key-not-used-at-runtime-only-for-collectstatic DEBUG=0 \
        python manage.py collectstatic --noinput \
    && useradd --system --uid 10001 --user-group --home-dir /app --shell /usr/sbin/nologin fieldops \
    && mkdir -p /app/var/media \
    && chown -R fieldops:fieldops /app/var

USER fieldops
EXPOSE 8000
# Processes: WEB_CONCURRENCY (read by gunicorn); each serves 8 threads, so a request waiting
# on PostgreSQL or Redis does not idle the process (docs/api.md, "Performance").
# Run migrations before (compose's web does).
CMD ["gunicorn", "fieldops.wsgi", "--bind", "0.0.0.0:8000", "--worker-class", "gthread", \
     "--threads", "8", "--access-logfile", "-"]

# fieldops: one image for web (gunicorn), Celery worker and Celery beat.
#   docker build -t fieldops .      (or: docker compose up --build, see docker-compose.yml)
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    FIELDOPS_VAR_DIR=/app/var \
    STATIC_ROOT=/app/staticfiles \
    WEB_CONCURRENCY=3

WORKDIR /app

# Dependencies first: this layer is rebuilt only when pyproject.toml changes.
COPY pyproject.toml ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" \
        > /tmp/requirements.txt \
    && pip install -r /tmp/requirements.txt \
    && rm /tmp/requirements.txt

# The project (editable, so BASE_DIR stays /app with its templates/ and locale/),
# translations compiled with Babel, static files collected for WhiteNoise. The
# SECRET_KEY here only lets the settings load; it is not in the final environment.
COPY . .
RUN pip install --no-deps -e . \
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

# syntax=docker/dockerfile:1
#
# One image for every app process (web, migrate, celery worker, celery beat);
# docker-compose.yml picks the command per service.

FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1

# Unprivileged runtime user. The code and collected static files stay owned
# by root, so the app cannot rewrite them.
RUN groupadd --system --gid 10001 app \
    && useradd --system --uid 10001 --gid app --home-dir /home/app --create-home --shell /usr/sbin/nologin app

WORKDIR /app

# Dependencies first, so the layer is reused while the lock is unchanged.
COPY requirements.lock /app/requirements.lock
RUN pip install --no-cache-dir --require-hashes -r requirements.lock

COPY . /app

# Throwaway values: settings refuse to import without them, but collectstatic
# never connects to the database or Redis. Output goes to STATIC_ROOT
# (/app/var/static), served by WhiteNoise.
RUN DJANGO_SECRET_KEY=build-only \
    DJANGO_ALLOWED_HOSTS=localhost \
    DATABASE_URL=postgres://x@localhost/x \
    REDIS_URL=redis://localhost:6379/0 \
    python manage.py collectstatic --noinput

USER app

EXPOSE 8000

CMD ["gunicorn", "social_crm.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3", "--access-logfile", "-"]

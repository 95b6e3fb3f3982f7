# Image of OLVF screen: the web server (gunicorn) and the Celery worker run from the same image.
# Build: docker build -t olvf-screen .   (docker-compose.yml builds it for every service)
FROM python:3.11-slim-bookworm

# gettext compiles the translations; the libraries are what WeasyPrint (PDF reports) and OpenCV
# (pulled in by ultralytics) load at run time; fonts-noto-cjk renders Japanese in PDFs.
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        gettext libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz0b libgl1 libglib2.0-0 fonts-noto-cjk \
    && rm -rf /var/lib/apt/lists/*

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    LOG_FORMAT=json \
    STATIC_ROOT=/app/staticfiles \
    MEDIA_ROOT=/data/media \
    MODEL_BUNDLE_DIR=/data/bundles/demo \
    YOLO_OFFLINE=1

WORKDIR /app
COPY requirements.txt .
RUN pip install -r requirements.txt

COPY . .
RUN useradd --system --uid 1000 --home-dir /app olvf \
    && mkdir -p /data/media /data/bundles \
    && chown -R olvf /data \
    && DATABASE_URL=sqlite:////tmp/build.sqlite3 SECRET_KEY=build-only python manage.py compilemessages --ignore=.venv \
    && DATABASE_URL=sqlite:////tmp/build.sqlite3 SECRET_KEY=build-only python manage.py collectstatic --noinput \
    && rm -f /tmp/build.sqlite3

USER olvf
EXPOSE 8000
CMD ["gunicorn", "olvf_web.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3", "--timeout", "300"]

# One image for every Chowda process: web (Daphne), worker (Celery), migrate and the demo apps.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    CHOWDA_MEDIA_ROOT=/data/mmif \
    CHOWDA_STATIC_ROOT=/app/staticfiles

# git: clams-python and mmif-python build their version from source at install time.
RUN apt-get update && apt-get install -y --no-install-recommends git && rm -rf /var/lib/apt/lists/*

WORKDIR /app
# Exactly the locked, hash-checked releases that CI tested, without the development tools.
COPY requirements/run.txt requirements/run.txt
RUN pip install --require-hashes -r requirements/run.txt

COPY pyproject.toml README.md ./
COPY chowda_site chowda_site
COPY background background
COPY clams_apps clams_apps
COPY pipelines pipelines
COPY batches batches
COPY runs runs
COPY findings findings
COPY reports reports
COPY deliverables deliverables
COPY sources sources
COPY jobs jobs
COPY search search
COPY evaluations evaluations
COPY api api
COPY ops ops
COPY sso sso
COPY demo_apps demo_apps
COPY templates templates
COPY manage.py ./
RUN pip install --no-deps -e . \
    && pip check \
    && python manage.py collectstatic --noinput -v0 \
    && useradd --create-home chowda && mkdir -p /data/mmif && chown chowda /data/mmif

USER chowda
EXPOSE 8000
CMD ["python", "-m", "daphne", "-b", "0.0.0.0", "-p", "8000", "chowda_site.asgi:application"]

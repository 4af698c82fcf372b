# syntax=docker/dockerfile:1
# The api (its workers and the one-shot migration, compose.yml). Built from the repository root, with
# api.Dockerfile.dockerignore beside this file keeping the context small.

# The web-chat widget (the unmodified rasa-webchat package from npm) and the dashboard's Chart.js, served by
# the api from our own origin.
FROM node:20-slim AS widget
WORKDIR /web
COPY web/package.json web/package-lock.json ./
RUN npm ci --no-audit --no-fund --loglevel=error

FROM python:3.11-slim AS build
# A compiler, in case a dependency comes only as source on the platform built for (it stays in this stage).
RUN apt-get update \
    && apt-get install -y --no-install-recommends build-essential \
    && rm -rf /var/lib/apt/lists/*
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
# The same pip as scripts/setup.sh.
RUN pip install --upgrade "pip<26" wheel
WORKDIR /src
COPY requirements/api.in requirements/api.lock requirements/
# api.in also lists the test and lint tools (pytest, ruff, mypy, playwright's Python package, no browser):
# the image has exactly the environment the tests ran in.
RUN pip install -r requirements/api.in -c requirements/api.lock

FROM python:3.11-slim
# The written documents (PDF) are set in DejaVu Sans (FONT_DIR, /usr/share/fonts/truetype/dejavu).
RUN apt-get update \
    && apt-get install -y --no-install-recommends fonts-dejavu-core \
    && rm -rf /var/lib/apt/lists/*
RUN useradd --create-home --uid 10001 app
COPY --from=build /opt/venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONPATH=/app \
    PYTHONUNBUFFERED=1
WORKDIR /app
COPY api/ api/
COPY channels/ channels/
# The bot's responses, which an A/B test of a response must name (Settings.domain_file).
COPY domain.yml domain.yml
# Where Settings.webchat_dir looks for it, relative to the code.
COPY --from=widget /web/node_modules/rasa-webchat/lib web/node_modules/rasa-webchat/lib
# The console dashboard's charts: Chart.js's one UMD file, where Settings.chartjs_file looks for it.
COPY --from=widget /web/node_modules/chart.js/dist/chart.umd.min.js web/node_modules/chart.js/dist/chart.umd.min.js
COPY --chmod=755 deploy/with-secrets.sh /usr/local/bin/with-secrets
USER app
ENTRYPOINT ["with-secrets"]
CMD ["uvicorn", "api.main:app", "--host", "0.0.0.0", "--port", "8000", "--no-access-log", "--proxy-headers", "--forwarded-allow-ips=*"]

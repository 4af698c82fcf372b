# syntax=docker/dockerfile:1
# The Rasa server and the action server: one image, two commands (compose.yml). Built from the repository root,
# with rasa.Dockerfile.dockerignore beside this file keeping the context small.
#
# The model is not trained here: `make setup` trains it beforehand (models/current.tar.gz, a link to the
# model named by the hash of what it learns from) and it is copied in below. Rebuild the image after a
# training, so that every Rasa server runs the same model.

FROM python:3.10-slim AS build
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
COPY requirements/rasa.in requirements/rasa.lock requirements/
RUN pip install -r requirements/rasa.in -c requirements/rasa.lock

FROM python:3.10-slim
RUN useradd --create-home --uid 10001 app
COPY --from=build /opt/venv /opt/venv
# PYTHONPATH: Rasa loads bot.* (tracker store, channels, components) by module path from endpoints.yml,
# credentials.yml and the model; `rasa` is a console script, so the working directory is not on the path.
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONPATH=/app \
    PYTHONUNBUFFERED=1 \
    RASA_TELEMETRY_ENABLED=false \
    TF_CPP_MIN_LOG_LEVEL=2 \
    SQLALCHEMY_SILENCE_UBER_WARNING=1
WORKDIR /app
COPY bot/ bot/
COPY actions/ actions/
COPY domain.yml config.yml endpoints.yml credentials.yml ./
# A link: BuildKit copies the file it points to (which the .dockerignore lets into the context).
COPY models/current.tar.gz models/current.tar.gz
COPY --chmod=755 deploy/with-secrets.sh /usr/local/bin/with-secrets
COPY --chmod=755 deploy/run-rasa.sh /usr/local/bin/run-rasa
USER app
ENTRYPOINT ["with-secrets"]
CMD ["run-rasa"]

# syntax=docker/dockerfile:1
# One image, two roles: the shared model service (default) and the Slack bot.
#   docker build -t sentimento .                       (weights of SENTIMENT_MODEL baked in)
#   docker build --build-arg SENTIMENT_RUNTIME=onnx-int8 -t sentimento .   (exported to int8 ONNX at build)
#   docker build --target service-slim -t sentimento-service .   (model service on ONNX int8, no torch)
#   docker run -p 8080:8080 sentimento                 (ROLE=service: python -m service)
#   docker run -p 8080:8080 -e ROLE=bot ... sentimento (python -m bot; or pass "bot" as the command)
# Docker does not run on the development machines: tests/integration/test_deploy.py lints this file with
# hadolint and runs its ENTRYPOINT with its ENV outside Docker, so neither can rot.

ARG PYTHON_IMAGE=python:3.11-slim-trixie

# --- Stage 1: dependencies in a virtualenv, in their own layer (rebuilt only when requirements.txt
# changes). torch comes from PyTorch's CPU index first: the PyPI wheel pulls ~3 GB of CUDA libraries.
FROM ${PYTHON_IMAGE} AS deps
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_ROOT_USER_ACTION=ignore \
    PATH=/opt/venv/bin:$PATH
WORKDIR /build
COPY requirements.txt ./
# The torch pin is read from requirements.txt (one source of truth); pip then sees it satisfied.
RUN python -m venv /opt/venv \
 && grep -E '^torch==' requirements.txt > torch-requirement.txt \
 && pip install --no-cache-dir --index-url https://download.pytorch.org/whl/cpu -r torch-requirement.txt \
 && pip install --no-cache-dir -r requirements.txt \
 && python -c "import torch; assert not torch.version.cuda, 'CUDA build of torch installed'"

# --- Stage 2: the model weights, downloaded at build time so that a container starts offline.
FROM deps AS model
ARG SENTIMENT_MODEL=cardiffnlp/twitter-xlm-roberta-base-sentiment
COPY scripts/fetch_model.py ./
# A gated or private model: docker build --secret id=hf_token,env=HF_TOKEN ...
RUN --mount=type=secret,id=hf_token,required=false \
    HF_HOME=/tmp/hf HF_TOKEN_PATH=/run/secrets/hf_token \
    python fetch_model.py "${SENTIMENT_MODEL}" /models/sentiment

# --- Stage 3: with SENTIMENT_RUNTIME=onnx-int8 or onnx, export the weights to ONNX once, here, so that
# the container starts on the exported model offline (and its image carries no torch weights).
# The export refuses a model whose labels disagree with the original on more than 1% of its sample.
#   docker build --build-arg SENTIMENT_RUNTIME=onnx-int8 -t sentimento .
FROM model AS export
ARG SENTIMENT_RUNTIME=torch
COPY service ./service
RUN if [ "${SENTIMENT_RUNTIME}" != torch ]; then \
      HF_HUB_OFFLINE=1 python -m service export --model /models/sentiment --out /models/exported \
          --runtime "${SENTIMENT_RUNTIME}" \
      && rm -rf /models/sentiment && mv /models/exported /models/sentiment; \
    fi

# --- The slim model service (docker build --target service-slim): ONNX Runtime int8 only, no torch,
# no transformers, no bot libraries; the exported model is baked in. For Cloud Run with
# --min-instances=0 (see the README's "Slim image"). Its own virtualenv, from requirements-slim.txt:
FROM ${PYTHON_IMAGE} AS slim-deps
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_ROOT_USER_ACTION=ignore \
    PATH=/opt/venv/bin:$PATH
WORKDIR /build
COPY requirements-slim.txt ./
RUN python -m venv /opt/venv \
 && pip install --no-cache-dir -r requirements-slim.txt \
 && if python -c "import torch" 2>/dev/null; then echo "torch reached the slim virtualenv" >&2; exit 1; fi

# The export for the slim image, always to an ONNX runtime (SLIM_RUNTIME: onnx-int8 or onnx), with the
# full image's torch virtualenv and the quality gate; only its output reaches service-slim.
FROM model AS export-slim
ARG SLIM_RUNTIME=onnx-int8
COPY service ./service
RUN HF_HUB_OFFLINE=1 python -m service export --model /models/sentiment --out /models/exported \
        --runtime "${SLIM_RUNTIME}" \
 && rm -rf /models/sentiment && mv /models/exported /models/sentiment

FROM ${PYTHON_IMAGE} AS service-slim
ARG SENTIMENT_MODEL=cardiffnlp/twitter-xlm-roberta-base-sentiment
ARG SLIM_RUNTIME=onnx-int8
LABEL org.opencontainers.image.title="sentimento-service-slim" \
      org.opencontainers.image.description="Sentimento model service on ONNX Runtime, without torch" \
      io.sentimento.model="${SENTIMENT_MODEL}" \
      io.sentimento.runtime="${SLIM_RUNTIME}"
RUN groupadd --system --gid 10001 app \
 && useradd --system --uid 10001 --gid app --no-create-home --home-dir /nonexistent \
            --shell /usr/sbin/nologin app
COPY --from=slim-deps /opt/venv /opt/venv
COPY --from=export-slim /models /models
WORKDIR /app
# The model service's code only: the bot's packages would not import without their libraries.
COPY service ./service
COPY scripts/entrypoint.py scripts/healthcheck.py ./scripts/
RUN /opt/venv/bin/python -m compileall -q /app
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONPATH=/app \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    ROLE=service \
    HOST=0.0.0.0 \
    PORT=8080 \
    LOG_FORMAT=json \
    SENTIMENT_MODEL=/models/sentiment \
    SENTIMENT_BACKEND=transformers \
    SENTIMENT_RUNTIME=${SLIM_RUNTIME} \
    HF_HUB_OFFLINE=1
USER 10001:10001
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "/app/scripts/healthcheck.py"]
ENTRYPOINT ["python", "/app/scripts/entrypoint.py"]
CMD []

# --- Stage 4: the runtime image: the virtualenv, the weights and the code, run as a non-root user.
FROM ${PYTHON_IMAGE} AS runtime
ARG SENTIMENT_MODEL=cardiffnlp/twitter-xlm-roberta-base-sentiment
ARG SENTIMENT_RUNTIME=torch
LABEL org.opencontainers.image.title="sentimento" \
      org.opencontainers.image.description="Sentimento: model service and Slack bot (ROLE=service|bot)" \
      io.sentimento.model="${SENTIMENT_MODEL}" \
      io.sentimento.runtime="${SENTIMENT_RUNTIME}"
RUN groupadd --system --gid 10001 app \
 && useradd --system --uid 10001 --gid app --no-create-home --home-dir /nonexistent \
            --shell /usr/sbin/nologin app
COPY --from=deps /opt/venv /opt/venv
COPY --from=export /models /models
WORKDIR /app
COPY . .
# Byte-compile now: the code is read-only to the app user, and start-up should not recompile it.
RUN /opt/venv/bin/python -m compileall -q /app
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONPATH=/app \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    ROLE=service \
    HOST=0.0.0.0 \
    PORT=8080 \
    LOG_FORMAT=json \
    SENTIMENT_MODEL=/models/sentiment \
    SENTIMENT_BACKEND=transformers \
    SENTIMENT_RUNTIME=${SENTIMENT_RUNTIME} \
    HF_HUB_OFFLINE=1 \
    TRANSFORMERS_OFFLINE=1 \
    HF_HOME=/tmp/hf \
    HF_HUB_DISABLE_PROGRESS_BARS=1 \
    SQLITE_PATH=/tmp/sentimento.db \
    SENTIMENT_EVALUATION_FILE=/app/model-evaluation.json
# The baked model's figures on the team's evaluation set (eval/), measured here with the weights and
# runtime this image serves: a model that cannot load or classify fails the build. The deploy's quality
# gate compares them with the serving image's own /app/model-evaluation.json.
RUN python -m service evaluate --data /app/eval/workplace-pt.jsonl --format json \
        --out /app/model-evaluation.json
USER 10001:10001
EXPOSE 8080
# Liveness of either role (both serve GET /healthz on $PORT); python, as slim images have no curl.
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "/app/scripts/healthcheck.py"]
# The entrypoint picks the role (ROLE or the first argument), resolves sm:// secret references
# and exec()s the role, so that the role is PID 1 and receives SIGTERM itself.
ENTRYPOINT ["python", "/app/scripts/entrypoint.py"]
CMD []

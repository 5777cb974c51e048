# Sluice operator image: `docker build -t ghcr.io/sluice-dev/sluice:0.1.0 .`
FROM python:3.11-slim AS build
WORKDIR /src
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
# README.md is optional: the glob keeps COPY working when it is absent.
COPY pyproject.toml README.m[d] ./
COPY operator/ operator/
RUN python -m venv /opt/sluice && /opt/sluice/bin/pip install .

FROM python:3.11-slim
LABEL org.opencontainers.image.title="sluice" \
      org.opencontainers.image.description="Progressive delivery operator for Kubernetes" \
      org.opencontainers.image.licenses="Apache-2.0"
ENV PATH=/opt/sluice/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1
COPY --from=build /opt/sluice /opt/sluice
RUN groupadd --system --gid 10001 sluice \
 && useradd --system --uid 10001 --gid sluice --no-create-home --shell /usr/sbin/nologin sluice
USER 10001:10001
EXPOSE 8080
ENTRYPOINT ["sluice", "run"]

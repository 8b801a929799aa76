# syntax=docker/dockerfile:1
# The sluice image of docker-compose.yml: the host binary and every plugin,
# built with the same `just` recipes as a local build (`just build-release`
# = `just build-plugins` + the host in release mode), on a slim runtime.

# --- build: the toolchain of rust-toolchain.toml, wasm32-wasip2, just; cmake
# and curl's and zlib's headers for librdkafka, compiled from source (as
# .ci/run installs them) -------------------------------------------------------
FROM rust:1.95.0-bookworm AS build
RUN apt-get update \
    && apt-get install -y --no-install-recommends cmake libcurl4-openssl-dev zlib1g-dev \
    && rm -rf /var/lib/apt/lists/*
RUN rustup target add wasm32-wasip2 \
    && cargo install just --version 1.43.0 --locked
WORKDIR /src
COPY . .
# Registry and target are build caches; the artifacts are copied out of them.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    just build-release \
    && mkdir -p /out/plugins \
    && cp target/plugins/*.wasm /out/plugins/ \
    && cp target/release/sluice /out/sluice

# --- runtime -------------------------------------------------------------------
FROM debian:bookworm-slim
# curl: compose's health check of /health. ca-certificates: S3 over TLS.
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates curl \
    && rm -rf /var/lib/apt/lists/*
RUN useradd --system --create-home --home-dir /home/sluice sluice \
    && mkdir -p /var/cache/sluice \
    && chown sluice /var/cache/sluice
COPY --from=build /out/sluice /usr/local/bin/sluice
WORKDIR /app
# plugins.toml names its plugins as target/plugins/*.wasm, relative to itself.
COPY --from=build /out/plugins/ /app/target/plugins/
COPY plugins.toml /app/plugins.toml
USER sluice
ENV SLUICE_CONFIG=/app/plugins.toml \
    SLUICE_CACHE_DIR=/var/cache/sluice
ENTRYPOINT ["sluice"]
CMD ["run"]

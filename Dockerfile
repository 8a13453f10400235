# headroom in a container, for `headroom k8s` (Kubernetes Indexed Jobs).
#   docker build -t headroom:latest .
# Build stage: the release binary.
FROM rust:1-bookworm AS build
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY src ./src
COPY scenarios ./scenarios
COPY models ./models
COPY benches ./benches
# Without line tables (55 MB instead of 82 MB); backtraces keep function names.
RUN cargo build --release --locked --bin headroom \
    && strip --strip-debug target/release/headroom

# Runtime stage: the binary on a slim Debian, as a non-root user.
FROM debian:bookworm-slim
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --home-dir /results headroom \
    && mkdir -p /results && chown headroom /results
COPY --from=build /src/target/release/headroom /usr/local/bin/headroom
USER 10001
WORKDIR /results
ENTRYPOINT ["headroom"]
CMD ["--help"]

# The `irsa` binary in a distroless image that runs as non-root (uid 65532); its default command
# is the pod identity webhook server. Build from the repository's root:
#
#   docker build -t registry.example.com/irsa:0.1.0 .
#
# The project's test suite does not build this image (its machines have no Docker daemon); the
# server inside it is tested as a binary against a fake apiserver (tests/it/webhook_server.rs).

FROM rust:1.94-bookworm AS build
WORKDIR /src
# aws-lc-rs (TLS and JWT signatures) builds its C library with cmake and clang.
RUN apt-get update && apt-get install -y --no-install-recommends cmake clang \
    && rm -rf /var/lib/apt/lists/*
COPY . .
RUN cargo build --release --locked --features cli --bin irsa \
    && cp target/release/irsa /irsa

# glibc and the CA roots, no shell, no package manager.
FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /irsa /usr/local/bin/irsa
USER 65532:65532
EXPOSE 8443 9999
ENTRYPOINT ["/usr/local/bin/irsa"]
CMD ["webhook", "serve"]

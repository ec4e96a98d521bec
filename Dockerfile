# The scalepol binary in a small image, for `scalepol scaler` in a cluster
# (docs/runtime.md, "In the cluster") or `scalepol check` in CI.
#   docker build -t scalepol:0.1.0 .
# Not published: build it, push it to your registry, and point the
# StatefulSet that `scalepol compile` writes at it.

FROM docker.io/library/rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked -p scalepol \
 && install -D target/release/scalepol /out/scalepol

# glibc and libgcc only (rustls, no OpenSSL); runs as uid 65532.
FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /out/scalepol /usr/local/bin/scalepol
USER 65532:65532
EXPOSE 9090 8080
ENTRYPOINT ["/usr/local/bin/scalepol"]
CMD ["--help"]

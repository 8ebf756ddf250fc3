# syntax=docker/dockerfile:1
#
# The troupe container image: one static binary on a distroless base.
#
#   docker build --build-arg VERSION=v0.1.0 -t ghcr.io/troupe-go/troupe:v0.1.0 .
#
# Stage 1 builds a static binary (CGO_ENABLED=0: troupe is pure Go, SQLite
# included), stage 2 copies it onto distroless/static, which holds CA
# certificates, /etc/passwd with the nonroot user (65532) and tzdata, and
# nothing else: no shell, no package manager. The image runs as 65532 and
# writes only to /data, so it works with readOnlyRootFilesystem: mount a
# volume (an emptyDir in deploy/k8s) at /data.
#
# The base images are pinned by tag. For a production registry, pin them by
# digest as well (FROM golang:1.26.8-bookworm@sha256:...), so that a rebuild
# is byte for byte the same.
# deploy/k8s/image_test.go checks these properties and builds the binary with
# exactly the go build command below.

ARG GO_IMAGE=golang:1.26.8-bookworm
ARG RUNTIME_IMAGE=gcr.io/distroless/static-debian12:nonroot

# The build stage runs on the builder's own platform and cross-compiles
# (Go needs no emulation for that), whatever --platform asks for.
FROM --platform=$BUILDPLATFORM ${GO_IMAGE} AS build
# The image runs the demo application (examples/demo), which is a module of
# its own built against the framework beside it (a replace directive).
WORKDIR /src/examples
# Modules first: this layer is cached until a go.mod or go.sum changes.
COPY go.mod go.sum /src/
COPY examples/go.mod examples/go.sum /src/examples/
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY . /src/
ARG VERSION=devel
# TARGETOS and TARGETARCH are set by BuildKit from --platform (docker buildx
# build --platform linux/amd64,linux/arm64); empty, go builds for the host.
ARG TARGETOS
ARG TARGETARCH
RUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
    GOWORK=off CGO_ENABLED=0 GOOS=${TARGETOS} GOARCH=${TARGETARCH} \
    go build -trimpath -buildvcs=false -ldflags="-s -w -X main.version=${VERSION}" -o /out/troupe ./demo
# The data directory, to be owned by the runtime user: distroless has no
# shell to create it there.
RUN mkdir -p /out/data

FROM ${RUNTIME_IMAGE}
ARG VERSION=devel
LABEL org.opencontainers.image.title="troupe" \
      org.opencontainers.image.description="manageable microservices: supervised actors on a message bus" \
      org.opencontainers.image.source="https://github.com/troupe-go/troupe" \
      org.opencontainers.image.version="${VERSION}"
COPY --from=build /out/troupe /usr/local/bin/troupe
COPY --from=build /src/troupe.yaml /etc/troupe/troupe.yaml
# Owned by the runtime user, so that `docker run` without a volume (an
# anonymous one is made from this directory) can write there too.
COPY --from=build --chown=65532:65532 /out/data /data
# 65532 is distroless's nonroot user; numeric, so that Kubernetes can verify
# runAsNonRoot without reading /etc/passwd.
USER 65532:65532
WORKDIR /data
VOLUME ["/data"]
# 8080: the gateway (HTTP API, /healthz, /readyz, /metrics).
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/troupe"]
CMD ["run", "-addr", "0.0.0.0:8080", "-data", "/data", "-log-format", "json", "/etc/troupe/troupe.yaml"]

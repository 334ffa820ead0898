# syntax=docker/dockerfile:1
# The tracelake image: one static binary on distroless, running as a non-root user.
#
#   docker build -t tracelake --build-arg VERSION=$(git describe --tags --always) .
#   docker run --rm -p 4317:4317 -p 4318:4318 -p 16686:16686 tracelake
#
# Multi-platform builds cross-compile on the build machine:
#   docker buildx build --platform linux/amd64,linux/arm64 -t tracelake .
# The UI bundle (query/ui/dist) is committed, so no Node.js step is needed.

FROM --platform=$BUILDPLATFORM golang:1.26 AS build
ARG TARGETOS TARGETARCH
ARG VERSION=dev
WORKDIR /src
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY . .
# `make build`: CGO_ENABLED=0, -trimpath, version stamped into the binary.
RUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
    GOOS=$TARGETOS GOARCH=$TARGETARCH make build VERSION=$VERSION
# The default storage directory, owned by the runtime user (65532, distroless "nonroot").
RUN mkdir -p /out/var/lib/tracelake && chown 65532:65532 /out/var/lib/tracelake

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /src/bin/tracelake /usr/bin/tracelake
COPY --from=build --chown=65532:65532 /out/var/lib/tracelake /var/lib/tracelake
USER 65532:65532
# 4317 OTLP gRPC, 4318 OTLP HTTP, 9411 Zipkin, 14250 Jaeger gRPC, 14268 Jaeger Thrift HTTP,
# 6831-6832/udp Jaeger agent, 5778 remote sampling, 16686 query API and UI, 14269 admin.
EXPOSE 4317 4318 9411 14250 14268 6831/udp 6832/udp 5778 16686 14269
ENTRYPOINT ["/usr/bin/tracelake"]
CMD ["all-in-one", "--storage=/var/lib/tracelake"]

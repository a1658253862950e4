# syntax=docker/dockerfile:1.7
# A static Go binary in a minimal image. `inv docker.build --env=ENV` fills every ARG from
# config/<env>.yaml, the selected Go and git; credentials arrive only as BuildKit secrets.
# Needs BuildKit (docker buildx, podman or buildah): cache mounts and secrets.

ARG GO_VERSION=1.26.8
ARG GO_IMAGE_VARIANT=bookworm
ARG RUNTIME_IMAGE=gcr.io/distroless/static-debian12:nonroot

FROM golang:${GO_VERSION}-${GO_IMAGE_VARIANT} AS build
ARG MODULE=.
ARG PACKAGE=.
ARG GOPROXY=https://proxy.golang.org,direct
ARG GOSUMDB=sum.golang.org
ARG GOPRIVATE=
ARG GONOPROXY=
ARG GONOSUMDB=
ARG GOFLAGS=
ARG CGO_ENABLED=0
ENV GOPROXY=${GOPROXY} GOSUMDB=${GOSUMDB} GOPRIVATE=${GOPRIVATE} GONOPROXY=${GONOPROXY} \
    GONOSUMDB=${GONOSUMDB} GOFLAGS=${GOFLAGS} CGO_ENABLED=${CGO_ENABLED} GOTOOLCHAIN=local

# Dependencies first, in their own layer: a source change does not download them again.
WORKDIR /src/${MODULE}
COPY ${MODULE}/go.mod ${MODULE}/go.su[m] ./
RUN --mount=type=cache,target=/go/pkg/mod \
    --mount=type=secret,id=goproxy,required=false \
    --mount=type=secret,id=gosumdb,required=false \
    --mount=type=secret,id=netrc,target=/root/.netrc,required=false \
    if [ -f /run/secrets/goproxy ]; then GOPROXY="$(cat /run/secrets/goproxy)"; fi; \
    if [ -f /run/secrets/gosumdb ]; then GOSUMDB="$(cat /run/secrets/gosumdb)"; fi; \
    export GOPROXY GOSUMDB; \
    if [ -d vendor ]; then echo "vendored: no download"; else go mod download; fi

WORKDIR /src
COPY . .
WORKDIR /src/${MODULE}
ARG TAGS=
ARG LDFLAGS=
RUN --mount=type=cache,target=/go/pkg/mod \
    --mount=type=cache,target=/root/.cache/go-build \
    --mount=type=secret,id=goproxy,required=false \
    --mount=type=secret,id=gosumdb,required=false \
    --mount=type=secret,id=netrc,target=/root/.netrc,required=false \
    if [ -f /run/secrets/goproxy ]; then GOPROXY="$(cat /run/secrets/goproxy)"; fi; \
    if [ -f /run/secrets/gosumdb ]; then GOSUMDB="$(cat /run/secrets/gosumdb)"; fi; \
    export GOPROXY GOSUMDB; \
    go build -trimpath -tags="${TAGS}" -ldflags="${LDFLAGS}" -o /out/app "${PACKAGE}"

FROM ${RUNTIME_IMAGE}
ARG VERSION=unknown
ARG COMMIT=unknown
# CA certificates from the builder: a scratch runtime has none, distroless has its own.
COPY --from=build /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY --from=build /out/app /app
# 65532 is distroless' nonroot; on scratch a numeric user needs no /etc/passwd.
USER 65532:65532
ENTRYPOINT ["/app"]

# syntax=docker/dockerfile:1.7
# A static Go binary in a minimal image. `inv docker.build --env=ENV` fills every ARG from
# config/<env>.yaml, the selected Go and git; credentials arrive only as BuildKit secrets.
# Needs BuildKit (docker buildx, podman or buildah): cache mounts and secrets. The builder runs
# on the build machine's platform and cross-compiles for each target (--platform): no emulation.

ARG GO_VERSION=1.26.8
ARG GO_IMAGE_VARIANT=bookworm
ARG RUNTIME_IMAGE=gcr.io/distroless/static-debian12:nonroot

# Modules from a setup bundle (`inv docker.build --from BUNDLE.tar`): its module proxy folder
# replaces this empty stage (--build-context goproxy=DIR) and GOPROXY=file:///goproxy,off
# reads only it, go still checking each module against go.sum. Without one it stays empty.
FROM scratch AS goproxy

FROM --platform=$BUILDPLATFORM golang:${GO_VERSION}-${GO_IMAGE_VARIANT} AS build
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
# PREFETCH=0 (a vendoring module, a replace => ../folder, a go.work of several modules): this
# layer, with only go.mod and go.sum, cannot know them; the build step fetches what it needs.
WORKDIR /src/${MODULE}
COPY ${MODULE}/go.mod ${MODULE}/go.su[m] ./
ARG PREFETCH=1
RUN --mount=type=cache,target=/go/pkg/mod \
    --mount=type=bind,from=goproxy,target=/goproxy \
    --mount=type=secret,id=goproxy,required=false \
    --mount=type=secret,id=gosumdb,required=false \
    --mount=type=secret,id=netrc,target=/root/.netrc,required=false \
    if [ -f /run/secrets/goproxy ]; then GOPROXY="$(cat /run/secrets/goproxy)"; fi; \
    if [ -f /run/secrets/gosumdb ]; then GOSUMDB="$(cat /run/secrets/gosumdb)"; fi; \
    export GOPROXY GOSUMDB; \
    if [ "$PREFETCH" = 1 ]; then go mod download; else echo "no prefetch: the build fetches"; fi

WORKDIR /src
COPY . .
WORKDIR /src/${MODULE}
ARG TAGS=
ARG LDFLAGS=
# Set by BuildKit, podman and buildah for each target platform; declared after the download
# layer, so one download serves every platform.
ARG TARGETOS TARGETARCH
RUN --mount=type=cache,target=/go/pkg/mod \
    --mount=type=cache,target=/root/.cache/go-build \
    --mount=type=bind,from=goproxy,target=/goproxy \
    --mount=type=secret,id=goproxy,required=false \
    --mount=type=secret,id=gosumdb,required=false \
    --mount=type=secret,id=netrc,target=/root/.netrc,required=false \
    if [ -f /run/secrets/goproxy ]; then GOPROXY="$(cat /run/secrets/goproxy)"; fi; \
    if [ -f /run/secrets/gosumdb ]; then GOSUMDB="$(cat /run/secrets/gosumdb)"; fi; \
    export GOPROXY GOSUMDB; \
    GOOS=$TARGETOS GOARCH=$TARGETARCH \
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

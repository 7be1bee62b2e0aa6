# syntax=docker/dockerfile:1

# Build a static binary.
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY . .
ARG VERSION=dev
ARG COMMIT=unknown
RUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 go build -trimpath \
      -ldflags "-s -w -X main.version=${VERSION} -X main.commit=${COMMIT}" \
      -o /out/intake ./cmd/intake

# Run it as a non-root user on a base with nothing else in it (CA
# certificates and tzdata included, for SMTP and webhooks over TLS).
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/intake /usr/local/bin/intake
USER nonroot:nonroot
ENV INTAKE_ADDR=:8080 INTAKE_LOG_FORMAT=json
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/intake"]
CMD ["serve"]

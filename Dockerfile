# accord-controller and accordctl in a slim image.
#
#   docker build --build-arg ACCORD_COMMIT="$(git rev-parse HEAD)" \
#     -t registry.example.com/accord/accord-controller:0.1.0 .
#
# (The build context has no .git: ACCORD_COMMIT is the commit `--version`
# and accord_build_info report; without it they say `unknown`.)
#
# The builder is the official Swift image of the release this repository is
# built and tested with (6.3.1, Debian 12 "bookworm"); the runtime holds only
# what the binaries load at run time — libgit2 (Debian's libgit2-1.5, the
# library `hack/install-deps` installs as libgit2-dev for the build), jemalloc
# (libjemalloc2; libjemalloc-dev for the build), gpgv
# (OpenPGP commit signatures under a verification policy), CA
# certificates for TLS to PostgreSQL, git remotes and stores, and the Swift
# runtime libraries, copied with `--static-swift-stdlib`. It runs as a
# non-root user (10001, the Deployment's runAsUser).
#
# This machine has no container engine, so this file is not built by the
# test suite: it names the same Debian packages hack/install-deps installs,
# and the build steps are hack/test's (`swift build -c release`).

FROM swift:6.3.1-bookworm AS build
RUN apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
        libgit2-dev libjemalloc-dev pkg-config \
    && rm -rf /var/lib/apt/lists/*
ARG ACCORD_COMMIT=unknown
ENV ACCORD_COMMIT=$ACCORD_COMMIT
WORKDIR /src
COPY Package.swift ./
COPY Plugins ./Plugins
COPY hack/lib/build-info.sh ./hack/lib/build-info.sh
COPY Sources ./Sources
COPY Tests ./Tests
RUN swift build -c release --static-swift-stdlib --product accord-controller \
    && swift build -c release --static-swift-stdlib --product accordctl \
    && mkdir /out && cp "$(swift build -c release --show-bin-path)"/accord-controller "$(swift build -c release --show-bin-path)"/accordctl /out/

FROM debian:bookworm-slim
RUN apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
        libgit2-1.5 libjemalloc2 ca-certificates tzdata gpgv \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --no-create-home --shell /usr/sbin/nologin accord \
    && mkdir -p /var/cache/accord && chown accord /var/cache/accord
COPY --from=build /out/accord-controller /out/accordctl /usr/local/bin/
USER 10001
ENV ACCORD_CACHE_DIR=/var/cache/accord ACCORD_LISTEN=0.0.0.0:8080
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/accord-controller"]

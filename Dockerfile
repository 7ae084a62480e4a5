# Kinora: multi-stage build on Debian bookworm. Both stages install their
# packages with scripts/install-deps.sh, the same script CI and the README use.
#
# GPU (NVENC) encoding: run with the NVIDIA container runtime, e.g.
#   docker run --gpus all -e NVIDIA_DRIVER_CAPABILITIES=video,compute,utility -p 8080:8080 kinora
# The image sets NVIDIA_DRIVER_CAPABILITIES so the runtime mounts libnvidia-encode;
# without a GPU, "encoder": "auto" falls back to libx264.

FROM debian:bookworm AS build
WORKDIR /src
# Packages first, sources after: editing a source file reuses the package layer.
COPY scripts/install-deps.sh scripts/install-deps.sh
RUN scripts/install-deps.sh
COPY . .
# No tests here (scripts/test.sh runs them, and scripts/container-test.sh
# checks this image); BUILD_TESTING=OFF skips the test programs and cmocka.
# The install rules put the binary in bin/, the examples in
# share/kinora/examples and the docs in share/doc/kinora; DESTDIR stages that
# tree for the runtime stage.
RUN cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF \
 && cmake --build build -j"$(nproc)" \
 && DESTDIR=/staging cmake --install build --prefix /usr/local

FROM debian:bookworm AS runtime
COPY scripts/install-deps.sh /tmp/install-deps.sh
# The data directory exists and belongs to kinora before VOLUME, so that a
# new volume mounted there (named or anonymous) is writable by the server.
RUN /tmp/install-deps.sh --runtime && rm -rf /var/lib/apt/lists/* /tmp/install-deps.sh \
 && useradd --system --create-home --home-dir /var/lib/kinora kinora \
 && mkdir -p /var/lib/kinora/data && chown kinora:kinora /var/lib/kinora/data
# /usr/local/bin/kinora and /usr/local/share/kinora/examples
COPY --from=build /staging/ /
ENV NVIDIA_VISIBLE_DEVICES=all \
    NVIDIA_DRIVER_CAPABILITIES=video,compute,utility
USER kinora
WORKDIR /var/lib/kinora
VOLUME ["/var/lib/kinora/data"]
EXPOSE 8080
HEALTHCHECK --interval=15s --timeout=3s --start-period=5s --retries=3 \
  CMD ["curl", "-fsS", "http://127.0.0.1:8080/healthz"]
ENTRYPOINT ["/usr/local/bin/kinora"]
# A container's loopback is unreachable from outside it, so the server binds
# 0.0.0.0, which without a token it does only when told to. Set a token:
#   docker run -e KINORA_TOKEN=... -p 8080:8080 kinora
# (or mount a file and add --token-file PATH); without one, anyone who can
# reach the published port can submit and delete jobs.
CMD ["serve", "--port", "8080", "--data", "/var/lib/kinora/data", "--bind", "0.0.0.0", "--allow-unauthenticated"]

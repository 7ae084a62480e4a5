# Kinora: multi-stage build on Debian bookworm. Both stages install their
# packages with scripts/install-deps.sh, the same script CI and the README use.
#
# GPU (NVENC) encoding: run with the NVIDIA container runtime, e.g.
#   docker run --gpus all -e NVIDIA_DRIVER_CAPABILITIES=video,compute,utility -p 8080:8080 kinora
# The image sets NVIDIA_DRIVER_CAPABILITIES so the runtime mounts libnvidia-encode;
# without a GPU, "encoder": "auto" falls back to libx264.

FROM debian:bookworm AS build
WORKDIR /src
COPY scripts/install-deps.sh scripts/install-deps.sh
RUN scripts/install-deps.sh
COPY . .
RUN cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo \
 && cmake --build build -j"$(nproc)" \
 && (cd build && ctest --output-on-failure -E e2e)

FROM debian:bookworm AS runtime
COPY scripts/install-deps.sh /tmp/install-deps.sh
RUN /tmp/install-deps.sh --runtime && rm -rf /var/lib/apt/lists/* /tmp/install-deps.sh \
 && useradd --system --create-home --home-dir /var/lib/kinora kinora
COPY --from=build /src/build/kinora /usr/local/bin/kinora
COPY --from=build /src/examples /usr/share/kinora/examples
ENV NVIDIA_VISIBLE_DEVICES=all \
    NVIDIA_DRIVER_CAPABILITIES=video,compute,utility
USER kinora
WORKDIR /var/lib/kinora
VOLUME ["/var/lib/kinora/data"]
EXPOSE 8080
HEALTHCHECK --interval=15s --timeout=3s --start-period=5s --retries=3 \
  CMD ["curl", "-fsS", "http://127.0.0.1:8080/healthz"]
ENTRYPOINT ["/usr/local/bin/kinora"]
CMD ["serve", "--port", "8080", "--data", "/var/lib/kinora/data"]

# The x00 sidecar / host-audit image: one statically embedded binary on distroless (glibc only).
#   docker build -t x00 .
#   docker run --rm --privileged --pid=host -v /sys/kernel:/sys/kernel x00 audit
# Build stage: Debian 12 with the BPF toolchain and Deno from npm; `deno compile` needs its denort runtime
# (downloaded, or provided through DENORT_BIN).
FROM debian:12 AS build
RUN apt-get update && apt-get install -y --no-install-recommends \
      clang llvm libbpf-dev libbpf1 bpftool ca-certificates nodejs npm \
    && npm install -g deno@2.9.6 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
ARG DENORT_BIN
ENV DENORT_BIN=${DENORT_BIN}
RUN bash scripts/compile.sh --output /out/x00

FROM gcr.io/distroless/cc-debian12
COPY --from=build /out/x00 /usr/local/bin/x00
ENTRYPOINT ["/usr/local/bin/x00"]
CMD ["audit"]

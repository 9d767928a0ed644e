# The edge where no registry serves nginx:1.27-alpine: Debian's nginx on the local base image
# (compose/ci/base-image.sh), configured only by the compose file's conf.d/default.conf.
ARG BASE_IMAGE=posegen-local/python:3.11-bookworm
FROM ${BASE_IMAGE}
RUN apt-get update && apt-get install -y --no-install-recommends nginx wget \
    && rm -rf /var/lib/apt/lists/* /etc/nginx/sites-enabled/default \
    && ln -sf /dev/stdout /var/log/nginx/access.log && ln -sf /dev/stderr /var/log/nginx/error.log
STOPSIGNAL SIGQUIT
CMD ["nginx", "-g", "daemon off;"]

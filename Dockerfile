# The project's own image: the `ca-rotate` CLI (control plane, worker, data plane proxies, client
# commands), compiled to dist/ with a prebuilt workflow bundle (`npm run build`). Used by docker-compose.yml.
#
#   docker build -t mesh-ca-rotator .
#   docker run --rm mesh-ca-rotator --help
#
# node:20 (Debian, not -slim) brings python3, make and g++ in case better-sqlite3 has to compile its
# native addon instead of downloading a prebuilt one.
FROM node:20

WORKDIR /app

# Dependencies first, so a code change does not re-run `npm ci`.
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund && npm cache clean --force

COPY . .
RUN npm run build

# The control plane's store (SQLite), its token file and its secret key file live in /data.
RUN mkdir -p /data /credentials && chown node:node /data /credentials
VOLUME ["/data"]
USER node

# Kuma's API port, served by `ca-rotate control-plane --host 0.0.0.0`.
EXPOSE 5681

ENTRYPOINT ["node", "bin/ca-rotate.js"]
CMD ["--help"]

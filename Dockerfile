# syntax=docker/dockerfile:1
# The pipeline image: the four connectors and the pipeline runner, built from this checkout.
# docker-compose.yml builds it as the `pipeline` service.

# The active LTS line; the executables run on Node.js 22, 24 and 26 alike.
ARG NODE_VERSION=26

# ---- build: every dependency, compile the workspaces --------------------------------------
FROM node:${NODE_VERSION}-trixie-slim AS build
WORKDIR /app
# Manifests (and bin stubs, which npm links) first, so the dependency layer is reused
# until a manifest or the lock file changes.
COPY package.json package-lock.json ./
COPY packages/singer/package.json packages/singer/
COPY packages/tap-kaggle/package.json packages/tap-kaggle/
COPY packages/tap-kaggle/bin packages/tap-kaggle/bin
COPY packages/processor/package.json packages/processor/
COPY packages/processor/bin packages/processor/bin
COPY packages/tap-minio-csv/package.json packages/tap-minio-csv/
COPY packages/tap-minio-csv/bin packages/tap-minio-csv/bin
COPY packages/target-postgres/package.json packages/target-postgres/
COPY packages/target-postgres/bin packages/target-postgres/bin
COPY scripts/devkit/package.json scripts/devkit/
# --ignore-scripts: the root `prepare` script compiles, which needs the sources copied below.
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.base.json ./
COPY packages packages
COPY scripts scripts
RUN npx tsc -b

# ---- runtime: production dependencies and compiled output only, not root ------------------
FROM node:${NODE_VERSION}-trixie-slim AS runtime
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
COPY packages/singer/package.json packages/singer/
COPY packages/tap-kaggle/package.json packages/tap-kaggle/
COPY packages/tap-kaggle/bin packages/tap-kaggle/bin
COPY packages/processor/package.json packages/processor/
COPY packages/processor/bin packages/processor/bin
COPY packages/tap-minio-csv/package.json packages/tap-minio-csv/
COPY packages/tap-minio-csv/bin packages/tap-minio-csv/bin
COPY packages/target-postgres/package.json packages/target-postgres/
COPY packages/target-postgres/bin packages/target-postgres/bin
COPY scripts/devkit/package.json scripts/devkit/
# --omit=optional leaves out the embedded PostgreSQL binaries (~60 MB) that `npm start` uses
# when no server is configured; here the compose file always configures one.
RUN npm ci --omit=dev --omit=optional --ignore-scripts --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/packages/singer/dist packages/singer/dist
COPY --from=build /app/packages/tap-kaggle/dist packages/tap-kaggle/dist
COPY --from=build /app/packages/processor/dist packages/processor/dist
COPY --from=build /app/packages/tap-minio-csv/dist packages/tap-minio-csv/dist
COPY --from=build /app/packages/target-postgres/dist packages/target-postgres/dist
COPY --from=build /app/scripts/devkit/dist scripts/devkit/dist
COPY singer-config singer-config
# The runner keeps its state (bookmarks, downloads) here; compose mounts a volume on it.
RUN mkdir -p /app/.data && chown node:node /app/.data
USER node
CMD ["node", "scripts/devkit/dist/run-pipeline.js"]

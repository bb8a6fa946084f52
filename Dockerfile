# syntax=docker/dockerfile:1
# One image for both processes: `node apps/api/dist/main.js` or `node apps/worker/dist/main.js`.

FROM node:22-bookworm-slim AS build
WORKDIR /app
# Compilers for better-sqlite3 in case no prebuilt binary matches.
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json tsconfig.json tsconfig.base.json ./
COPY libs libs
COPY apps apps
RUN npm ci --no-audit --no-fund && npm run build

FROM node:22-bookworm-slim AS runtime
ENV NODE_ENV=production
# Bounds the heap (scripts/stack.mjs explains the figure); override NODE_OPTIONS to change it.
ENV NODE_OPTIONS=--max-old-space-size=512
WORKDIR /app
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ \
    && mkdir -p /data && chown node:node /data
COPY package.json package-lock.json ./
# Workspace manifests first, so `npm ci` links the libs; then the built code.
COPY --from=build /app/libs libs
COPY --from=build /app/apps apps
RUN npm ci --omit=dev --no-audit --no-fund \
    && apt-get purge -y python3 make g++ && apt-get autoremove -y && rm -rf /var/lib/apt/lists/* /root/.npm \
    && find libs apps -type d -name src -prune -exec rm -rf {} + \
    && chown -R node:node /app
USER node
ENV DATABASE_PATH=/data/api_keys.db
EXPOSE 8000 9464
CMD ["node", "apps/api/dist/main.js"]

# syntax=docker/dockerfile:1
FROM node:20-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN --mount=type=secret,id=npmrc,target=/root/.npmrc,required \
    --mount=type=cache,target=/root/.npm,sharing=locked \
    npm ci --omit=dev

FROM gcr.io/distroless/nodejs20-debian12:nonroot
WORKDIR /app
COPY --from=deps --chown=0:0 --chmod=0555 /app/node_modules ./node_modules
COPY --chown=0:0 --chmod=0444 dist/ ./dist/
CMD ["dist/index.js"]

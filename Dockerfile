# The reprise demo back end (examples/demo) as docker-compose.yml runs it: `npm ci`, then `npm start`.
FROM node:20.19.5-slim

WORKDIR /app

# Dependencies first, so code edits reuse this layer. Dev dependencies included: npm start runs TypeScript with tsx.
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund && npm cache clean --force

COPY tsconfig.json ./
COPY src ./src
COPY middleware ./middleware
COPY examples ./examples

ENV HOST=0.0.0.0 \
    PORT=8080
EXPOSE 8080

USER node
CMD ["npm", "start"]

// Reference: a bare Fastify + undici stream pipe, the floor of relaying a streamed answer in Node
// on this machine. POST /v1/chat/completions: parse the JSON body (the gateway must too), forward
// it on a keep-alive undici pool (no connection cap, as the gateway's), answer the upstream's
// status and content type, and hand the upstream body to Fastify as a stream, which writes each
// piece to the client as it arrives. No auth, limits, queue, job records, SSE parsing or usage.
// Env: UPSTREAM_URL (base URL ending in /v1), PORT (0 = any). Prints `ready <url>`.
import Fastify from "fastify";
import { Pool } from "undici";

const base = new URL(process.env.UPSTREAM_URL);
const path = `${base.pathname.replace(/\/+$/, "")}/chat/completions`;
const pool = new Pool(base.origin, { pipelining: 1, headersTimeout: 0, bodyTimeout: 0 });

const app = Fastify({ logger: false });
app.post("/v1/chat/completions", async (request, reply) => {
  const controller = new AbortController();
  // The client gone: stop reading the upstream too.
  reply.raw.once("close", () => {
    if (!reply.raw.writableFinished) controller.abort();
  });
  const response = await pool.request({
    path,
    method: "POST",
    headers: { "content-type": "application/json", authorization: "Bearer sk-reference" },
    body: JSON.stringify(request.body),
    signal: controller.signal,
  });
  reply.code(response.statusCode).header("content-type", response.headers["content-type"] ?? "application/json");
  if (response.headers["cache-control"]) reply.header("cache-control", response.headers["cache-control"]);
  return reply.send(response.body);
});
await app.listen({ host: "127.0.0.1", port: Number(process.env.PORT ?? 0) });
console.log(`ready http://127.0.0.1:${app.server.address().port}`);
process.once("SIGTERM", async () => {
  await app.close();
  await pool.close();
  process.exit(0);
});

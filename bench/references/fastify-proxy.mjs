// Reference: a bare Fastify + undici proxy, the floor of any HTTP gateway in Node on this
// machine. POST /v1/chat/completions: parse the JSON body (the gateway must too), forward it on
// a keep-alive undici pool, answer the upstream's status and body.
// Env: UPSTREAM_URL (base URL ending in /v1), PORT (0 = any). Prints `ready <url>`.
import Fastify from "fastify";
import { Pool } from "undici";

const base = new URL(process.env.UPSTREAM_URL);
const path = `${base.pathname.replace(/\/+$/, "")}/chat/completions`;
const pool = new Pool(base.origin, { pipelining: 1 });

const app = Fastify({ logger: false });
app.post("/v1/chat/completions", async (request, reply) => {
  const response = await pool.request({
    path,
    method: "POST",
    headers: { "content-type": "application/json", authorization: "Bearer sk-reference" },
    body: JSON.stringify(request.body),
  });
  reply.code(response.statusCode).header("content-type", "application/json");
  return response.body.text();
});
await app.listen({ host: "127.0.0.1", port: Number(process.env.PORT ?? 0) });
console.log(`ready http://127.0.0.1:${app.server.address().port}`);
process.once("SIGTERM", async () => {
  await app.close();
  await pool.close();
  process.exit(0);
});

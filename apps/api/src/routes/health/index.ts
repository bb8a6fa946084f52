import type { FastifyInstance } from "fastify";
import type { ApiContext } from "../../context.js";

const READY_TIMEOUT_MS = 1000;

/** Resolves true when the check answers within the readiness timeout. */
async function answers(check: () => Promise<unknown>): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), READY_TIMEOUT_MS)));
  try {
    return await Promise.race([check().then(() => true, () => false), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** /healthz: the process is alive. /readyz: Redis and the database answer (503 otherwise). */
export async function healthRoutes(app: FastifyInstance, context: ApiContext) {
  app.get("/healthz", { schema: { tags: ["health"], summary: "Liveness", security: [] } }, async () => ({ status: "ok" }));
  app.get("/readyz", { schema: { tags: ["health"], summary: "Readiness", security: [] } }, async (_request, reply) => {
    const [redis, database] = await Promise.all([answers(() => context.redis.ping()), answers(context.pingDatabase)]);
    const checks = { redis, database };
    const ready = Object.values(checks).every(Boolean);
    return reply.code(ready ? 200 : 503).send({ status: ready ? "ready" : "unavailable", checks });
  });
}

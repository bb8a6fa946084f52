import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import fastifyStatic from "@fastify/static";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { GatewayError } from "@llmgw/errors";

/** Where `npm run build` puts the console (apps/console/dist), from apps/api/{src,dist}/plugins. */
export const DEFAULT_CONSOLE_DIR = fileURLToPath(new URL("../../../console/dist/", import.meta.url));

/** The console's pages: each is the same index.html; the page script shows the one in the path. */
export const CONSOLE_PAGES = ["overview", "keys", "usage", "jobs"] as const;

// Only the gateway itself: no CDN, no inline script. Inline styles are allowed for the charts,
// which position their parts with style attributes.
const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
  "form-action 'self'",
].join("; ");

export interface ConsoleAssetsOptions {
  /** The built console; DEFAULT_CONSOLE_DIR unless a test points elsewhere. */
  directory?: string;
  /** Whether the request carries a live console session. */
  signedIn(request: FastifyRequest): Promise<boolean>;
}

/**
 * Serves the built console at /console: hashed assets under /console/assets/ (cached for a year)
 * with @fastify/static, and the pages, which redirect to /console/sign-in without a session. When
 * the console was not built the API still starts, and every /console page answers 503
 * `console_not_built` saying how to build it.
 */
export async function consoleAssets(app: FastifyInstance, options: ConsoleAssetsOptions) {
  const directory = options.directory ?? DEFAULT_CONSOLE_DIR;
  const indexFile = join(directory, "index.html");
  const built = existsSync(indexFile);
  const hidden = { hide: true } as const;

  // Read at each request (a small file): a rebuild while the API runs replaces the hashed asset
  // names, and a page read once at start would keep pointing at files that are gone.
  const sendPage = async (reply: FastifyReply) => {
    const indexHtml = await readFile(indexFile, "utf8").catch(() => null);
    if (indexHtml === null) throw new GatewayError("console_not_built");
    return reply
      .header("content-type", "text/html; charset=utf-8")
      .header("cache-control", "no-store")
      .header("content-security-policy", CONTENT_SECURITY_POLICY)
      .header("x-frame-options", "DENY")
      .header("x-content-type-options", "nosniff")
      .header("referrer-policy", "no-referrer")
      .send(indexHtml);
  };

  if (built) {
    await app.register(fastifyStatic, {
      root: join(directory, "assets"),
      prefix: "/console/assets/",
      // @fastify/swagger-ui and the queue dashboard register it too: only one may decorate the reply.
      decorateReply: false,
      index: false,
      maxAge: "365d",
      immutable: true,
      schemaHide: true,
    });
  } else {
    app.get("/console/assets/*", { schema: hidden }, async () => {
      throw new GatewayError("console_not_built");
    });
  }

  app.get("/console", { schema: hidden }, async (_request, reply) => reply.redirect("/console/overview"));
  app.get("/console/", { schema: hidden }, async (_request, reply) => reply.redirect("/console/overview"));
  app.get("/console/sign-in", { schema: hidden }, async (_request, reply) => sendPage(reply));
  for (const page of CONSOLE_PAGES) {
    app.get(`/console/${page}`, { schema: hidden }, async (request, reply) => {
      if (built && !(await options.signedIn(request))) return reply.redirect(`/console/sign-in?next=${page}`);
      return sendPage(reply);
    });
  }
}

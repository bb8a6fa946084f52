import { lookup as dnsLookup } from "node:dns/promises";
import { isIP } from "node:net";
import { isPublicAddress, urlHost } from "@llmgw/jobs";

/** The one address a delivery connects to, checked once and then pinned (no second DNS answer can swap it). */
export interface WebhookTarget {
  url: URL;
  host: string;
  address: string;
  family: 4 | 6;
}

/** A webhook that must not be sent (bad URL, private address): retrying cannot help. */
export class WebhookRefusedError extends Error {
  override name = "WebhookRefusedError";
}

export type ResolveHost = (host: string) => Promise<{ address: string; family: number }[]>;

const systemResolve: ResolveHost = (host) => dnsLookup(host, { all: true, verbatim: true });

/**
 * Resolves the webhook's host and checks every address it resolves to: with private targets
 * refused, one loopback/private/link-local/reserved answer refuses the delivery (a name that
 * resolves to both is how rebinding attacks start). The first address is then used.
 */
export async function resolveWebhookTarget(
  text: string,
  options: { allowPrivate: boolean; resolve?: ResolveHost },
): Promise<WebhookTarget> {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new WebhookRefusedError("the webhook URL is not a valid URL");
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") throw new WebhookRefusedError("the webhook URL must use http or https");
  const host = urlHost(url);
  const addresses = isIP(host) ? [{ address: host, family: isIP(host) }] : await (options.resolve ?? systemResolve)(host);
  if (addresses.length === 0) throw new Error(`the webhook host ${host} did not resolve`);
  if (!options.allowPrivate) {
    const refused = addresses.find((entry) => !isPublicAddress(entry.address));
    if (refused) {
      throw new WebhookRefusedError(
        `the webhook host ${host} resolves to ${refused.address}, a loopback, private or reserved address (set WEBHOOK_ALLOW_PRIVATE=true to allow)`,
      );
    }
  }
  const [first] = addresses;
  return { url, host, address: first.address, family: first.family === 6 ? 6 : 4 };
}

/** A parser turns a raw environment string into a value or throws with a reason (no variable name). */
export type Parser<T> = (raw: string) => T;

export const parseString: Parser<string> = (raw) => {
  if (raw.trim() === "") throw new Error("must not be empty");
  return raw.trim();
};

export const parseBoolean: Parser<boolean> = (raw) => {
  const value = raw.trim().toLowerCase();
  if (["true", "1", "yes", "on"].includes(value)) return true;
  if (["false", "0", "no", "off"].includes(value)) return false;
  throw new Error(`must be true or false, got "${raw}"`);
};

export function parseInteger(min: number, max: number): Parser<number> {
  return (raw) => {
    if (!/^-?\d+$/.test(raw.trim())) throw new Error(`must be a whole number, got "${raw}"`);
    const value = Number(raw.trim());
    if (value < min || value > max) throw new Error(`must be between ${min} and ${max}, got ${value}`);
    return value;
  };
}

export function parseUrl(protocols: string[]): Parser<string> {
  return (raw) => {
    let url: URL;
    try {
      url = new URL(raw.trim());
    } catch {
      throw new Error(`must be a URL (${protocols.join(" or ")}//…)`);
    }
    if (!protocols.includes(url.protocol)) throw new Error(`must start with ${protocols.join(" or ")}//`);
    return raw.trim().replace(/\/+$/, "");
  };
}

export const parseList: Parser<string[]> = (raw) =>
  raw
    .split(",")
    .map((item) => item.trim())
    .filter((item) => item !== "");

/** Metadata a job submission must refuse (HTTP and WebSocket alike): the metadata, the 400's message and param. */
export const refusedMetadata: { name: string; metadata: unknown; message: string; param: string }[] = [
  {
    name: "17 keys",
    metadata: Object.fromEntries(Array.from({ length: 17 }, (_, index) => [`k${index}`, "v"])),
    message: "Invalid value for 'metadata': must NOT have more than 16 properties.",
    param: "metadata",
  },
  {
    name: "a 513-character value",
    metadata: { note: "x".repeat(513) },
    message: "Invalid value for 'metadata.note': must NOT have more than 512 characters.",
    param: "metadata.note",
  },
  {
    name: "a 65-character key",
    metadata: { ["k".repeat(65)]: "v" },
    message: "Invalid key in 'metadata': must NOT have more than 64 characters.",
    param: "metadata",
  },
  {
    name: "a nested object",
    metadata: { owner: { team: "a" } },
    message: "Invalid value for 'metadata.owner': must be string,number,boolean,null.",
    param: "metadata.owner",
  },
  {
    name: "an array",
    metadata: { tags: ["a", "b"] },
    message: "Invalid value for 'metadata.tags': must be string,number,boolean,null.",
    param: "metadata.tags",
  },
  {
    // Just under the 1 MiB body limit, so the metadata bound (not the body limit) is what refuses it.
    name: "1 MiB of metadata",
    metadata: { blob: "x".repeat(1_040_000) },
    message: "Invalid value for 'metadata.blob': must NOT have more than 512 characters.",
    param: "metadata.blob",
  },
  {
    // Within the schema's shape (512 characters each) but 32 KiB of UTF-8 JSON: the job store's bound refuses it.
    name: "16 values of 512 four-byte characters",
    metadata: Object.fromEntries(Array.from({ length: 16 }, (_, index) => [`k${index}`, "😀".repeat(512)])),
    message: "Invalid value for 'metadata': its JSON must NOT be larger than 16384 bytes (16 KiB), got 32903.",
    param: "metadata",
  },
];

/** The largest metadata accepted: 16 keys of 64 characters, each a 512-character string. */
export const largestMetadata = Object.fromEntries(
  Array.from({ length: 16 }, (_, index) => [`${String(index).padStart(2, "0")}${"k".repeat(62)}`, "v".repeat(512)]),
);

/**
 * The `data:` payloads of an SSE answer in order, `[DONE]` included: one per event, multi-line
 * data joined with "\n" as the SSE spec says; comments and events without data left out.
 */
export async function sseData(response: Response): Promise<string[]> {
  const text = (await response.text()).replace(/\r\n?/g, "\n");
  const payloads: string[] = [];
  for (const event of text.split("\n\n")) {
    const data = event
      .split("\n")
      .filter((line) => line.startsWith("data:"))
      .map((line) => line.slice(line.startsWith("data: ") ? 6 : 5));
    if (data.length > 0) payloads.push(data.join("\n"));
  }
  return payloads;
}

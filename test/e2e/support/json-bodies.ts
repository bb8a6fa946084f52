import type OpenAI from "openai";

/** An error answer of the gateway (CONTRACT section 8). */
export interface ErrorBody {
  error: { message: string; type: string; param: string | null; code: string | null; job_id?: string };
}

/** The error object of an error answer. */
export async function errorOf(response: Response): Promise<ErrorBody["error"]> {
  return ((await response.json()) as ErrorBody).error;
}

/** A chat completion answer. */
export async function completionOf(response: Response): Promise<OpenAI.ChatCompletion> {
  return (await response.json()) as OpenAI.ChatCompletion;
}

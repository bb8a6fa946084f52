import type { FastifyInstance } from "fastify";
import type { NewUser, UserRecord } from "@llmgw/store";
import type { ApiContext } from "../../context.js";
import { bodyErrors } from "../../schemas/error-responses.js";
import { adminDocs, adminErrors, errorBodySchema, listOf, userSchema } from "./schemas.js";

const createUserBody = {
  type: "object",
  required: ["username", "email"],
  additionalProperties: false,
  properties: {
    username: { type: "string", minLength: 1, maxLength: 64 },
    email: { type: "string", format: "email", maxLength: 254 },
  },
} as const;

const asUser = (user: UserRecord) => ({ ...user, object: "user" as const });

/** POST /users (create; a taken username is 409) and GET /users (list). */
export async function adminUserRoutes(app: FastifyInstance, context: ApiContext) {
  app.post<{ Body: NewUser }>(
    "/users",
    {
      schema: {
        ...adminDocs,
        summary: "Create a user",
        body: createUserBody,
        response: { 201: userSchema, 408: bodyErrors[408], 409: errorBodySchema, ...adminErrors },
      },
    },
    async (request, reply) => reply.code(201).send(asUser(await context.users.create(request.body))),
  );

  app.get(
    "/users",
    { schema: { ...adminDocs, summary: "List users", response: { 200: listOf(userSchema), ...adminErrors } } },
    async () => ({ object: "list", data: (await context.users.list()).map(asUser) }),
  );
}

import type { FastifyInstance } from "fastify";
import { GatewayError } from "@llmgw/errors";
import type { NewUser, UserRecord } from "@llmgw/store";
import { databaseKeyId } from "../../services/client-auth.js";
import { integerIdParamsSchema, integerIdsIn } from "./integer-ids.js";
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

const updateUserBody = {
  type: "object",
  required: ["is_active"],
  additionalProperties: false,
  properties: { is_active: { type: "boolean", description: "false switches the user and every key of theirs off until set true again" } },
} as const;

/** POST /users (create; a taken username is 409), GET /users (list), PATCH /users/:id (switch off or on). */
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

  app.patch<{ Params: { id: number }; Body: { is_active: boolean } }>(
    "/users/:id",
    {
      preValidation: integerIdsIn("params", ["id"]),
      schema: {
        ...adminDocs,
        summary: "Switch a user, and so every key of theirs, off or on (every API instance within 5 s)",
        params: integerIdParamsSchema,
        body: updateUserBody,
        response: { 200: userSchema, 404: errorBodySchema, 408: bodyErrors[408], ...adminErrors },
      },
    },
    async (request) => {
      const { id } = request.params;
      const user = await context.users.setActive(id, request.body.is_active);
      if (!user) throw new GatewayError("not_found", { message: `No user with id ${id}.` });
      for (const key of await context.apiKeys.list({ userId: id })) context.forgetKey(databaseKeyId(key.id));
      return asUser(user);
    },
  );
}

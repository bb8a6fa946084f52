import type { FastifyInstance } from "fastify";
import { GatewayError } from "@llmgw/errors";
import type { NewUser, UserChanges, UserRecord } from "@llmgw/store";
import { databaseKeyId } from "../../services/client-auth.js";
import { integerIdParamsSchema, integerIdsIn } from "./integer-ids.js";
import type { ApiContext } from "../../context.js";
import { bodyErrors } from "../../schemas/error-responses.js";
import { adminDocs, adminErrors, errorBodySchema, listOf, userSchema, userWithSpendingSchema } from "./schemas.js";

const budget = { type: "integer", minimum: 1, nullable: true } as const;

/** Budgets for all the user's keys together; each key may have its own besides. */
const budgetFields = {
  token_budget_daily: { ...budget, description: "Prompt + completion tokens per UTC day, all the user's keys together (then 429 insufficient_quota); null = no budget" },
  token_budget_monthly: { ...budget, description: "Prompt + completion tokens per UTC month, all the user's keys together; null = no budget" },
} as const;

const createUserBody = {
  type: "object",
  required: ["username", "email"],
  additionalProperties: false,
  properties: {
    username: { type: "string", minLength: 1, maxLength: 64 },
    email: { type: "string", format: "email", maxLength: 254 },
    ...budgetFields,
  },
} as const;

const asUser = (user: UserRecord) => ({ ...user, object: "user" as const });

const updateUserBody = {
  type: "object",
  additionalProperties: false,
  minProperties: 1,
  properties: {
    is_active: { type: "boolean", description: "false switches the user and every key of theirs off until set true again" },
    ...budgetFields,
  },
} as const;

/** POST /users (create; a taken username is 409), GET /users (list), GET /users/:id (with spending), PATCH /users/:id. */
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

  app.get<{ Params: { id: number } }>(
    "/users/:id",
    {
      preValidation: integerIdsIn("params", ["id"]),
      schema: {
        ...adminDocs,
        summary: "One user, with the token spending of all their keys in the current UTC day and month",
        params: integerIdParamsSchema,
        response: { 200: userWithSpendingSchema, 404: errorBodySchema, ...adminErrors },
      },
    },
    async (request) => {
      const { id } = request.params;
      const user = await context.users.get(id);
      if (!user) throw new GatewayError("not_found", { message: `No user with id ${id}.` });
      const budgets = { daily: user.token_budget_daily, monthly: user.token_budget_monthly };
      return { ...asUser(user), spending: await context.spending.spending("user", String(id), budgets) };
    },
  );

  app.patch<{ Params: { id: number }; Body: UserChanges }>(
    "/users/:id",
    {
      preValidation: integerIdsIn("params", ["id"]),
      schema: {
        ...adminDocs,
        summary: "Switch a user, and so every key of theirs, off or on, or change their budgets (every API instance within 5 s)",
        params: integerIdParamsSchema,
        body: updateUserBody,
        response: { 200: userSchema, 404: errorBodySchema, 408: bodyErrors[408], ...adminErrors },
      },
    },
    async (request) => {
      const { id } = request.params;
      const user = await context.users.update(id, request.body);
      if (!user) throw new GatewayError("not_found", { message: `No user with id ${id}.` });
      for (const key of await context.apiKeys.list({ userId: id })) context.forgetKey(databaseKeyId(key.id));
      return asUser(user);
    },
  );
}

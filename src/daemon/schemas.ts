/**
 * The HTTP API's route schemas are zod schemas, declared on the routes: one source for validating
 * requests, serializing responses and the OpenAPI document (`GET /v1/openapi.json`, openapi.ts).
 *
 * Validation goes through `parseWith`, as every other zod check of Troupe does, so that a request
 * that breaks a schema answers 400 `TROUPE_BAD_REQUEST` naming the field as the user wrote it
 * (`query.limit`, `body.ids`) with `details: { field, rule, value }`. Responses are serialized by
 * fastify-type-provider-zod's compiler (zod's `encode`): the schemas of answers that carry a task's
 * payloads are loose objects with `unknown` payload fields, so that no field of a TaskInfo (many
 * optional, new ones added by later versions, arbitrary `input`, `result`, `progress`) is stripped.
 */
import type { FastifyInstance, FastifySchemaCompiler } from 'fastify';
import { serializerCompiler, type ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { PRIORITIES, type TaskState } from '../index.js';
import { parseWith } from '../internal.js';

/** How a part of the request is named in an error: as the user wrote it (`?limit=` is `query.limit`). */
const PART: Record<string, string> = { body: 'body', querystring: 'query', params: 'params', headers: 'headers' };

/** Schemas of bodies the library validates itself (its errors name `task.<field>`): documented, passed through. */
const LIBRARY_CHECKED = new WeakSet<object>();

/** Marks a body schema as documentation only: the library checks what it describes, with its own codes. */
export function checkedByLibrary<S extends z.ZodType>(schema: S): S {
  LIBRARY_CHECKED.add(schema);
  return schema;
}

const validatorCompiler: FastifySchemaCompiler<z.ZodType> = ({ schema, httpPart }) => {
  if (LIBRARY_CHECKED.has(schema)) return () => true; // the value is left as sent
  const prefix = PART[httpPart ?? 'body'] ?? 'body';
  return (data) => {
    try {
      return { value: parseWith(schema, data, 'TROUPE_BAD_REQUEST', prefix) };
    } catch (err) {
      return { error: err as Error }; // a TroupeError: the error handler answers it as any other
    }
  };
};

/** Makes zod the schema language of `app`'s routes. */
export function useZod(app: FastifyInstance): void {
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
}

/** `app` with route types inferred from the zod schemas (no casts in handlers). */
export function zod(app: FastifyInstance) {
  return app.withTypeProvider<ZodTypeProvider>();
}

/**
 * An object that keeps every field it is given (a zod loose object), typed as its declared fields
 * only: the library's interfaces (TaskInfo, BreakerInfo, ...) have no index signature, and fields
 * that a later version adds must pass through the serializer untouched.
 */
export function open<S extends z.ZodRawShape>(shape: S): z.ZodObject<S> {
  return z.looseObject(shape) as unknown as z.ZodObject<S>;
}

/**
 * A map keyed by names users choose (graph task names, breaker keys), passed to the answer as it
 * is: zod's record rebuilds the object, and would lose a key named `__proto__`. Documented as a
 * map of `values` (a JSON Schema).
 */
export function nameMap<V>(values: Record<string, unknown>, description: string) {
  return z.custom<Record<string, V>>().meta({ type: 'object', additionalProperties: values, description });
}

/** The body of every error answer. */
export const errorBody = z
  .object({
    error: z.object({
      code: z.string().describe('A stable TROUPE_ code (see the README error table)'),
      message: z.string(),
      details: z.record(z.string(), z.unknown()).optional().describe('{ field, rule, value } for a field that broke a rule; other facts for some codes'),
    }),
  })
  .describe('An error');

/** The success answers given, plus the error body for any 4xx or 5xx. */
export function answers<T extends Record<number, unknown>>(ok: T): T & { '4xx': typeof errorBody; '5xx': typeof errorBody } {
  return { ...ok, '4xx': errorBody, '5xx': errorBody };
}

/** A streamed answer: its content type, not serialized (the route writes it). */
export function streamed(type: string, description: string) {
  return { 200: { description, content: { [type]: { schema: z.string() } } } };
}

/** Every task state: a Record, so that a state added to TaskState but not here fails to compile. */
const STATES: Record<TaskState, true> = { blocked: true, queued: true, delayed: true, running: true, succeeded: true, dead: true, cancelled: true };
export const taskState = z.enum(Object.keys(STATES) as [TaskState, ...TaskState[]]);

export const idParams = z.object({ id: z.string().describe('A task id') });

const serializedError = open({ name: z.string().optional(), message: z.string(), code: z.string().optional() });

/** A task as `get()` shows it: the fields every task has, typed; the rest carried whatever they hold. */
export const taskInfo = open({
    id: z.string(),
    agent: z.string(),
    state: taskState,
    priority: z.enum(PRIORITIES),
    resources: z.array(z.string()).readonly(),
    attempt: z.number(),
    submittedAt: z.number().describe('epoch ms'),
    startedAt: z.number().optional(),
    finishedAt: z.number().optional(),
    key: z.string().optional(),
    name: z.string().optional(),
    group: z.string().optional(),
    parentId: z.string().optional(),
    input: z.unknown().optional().describe('with include=input'),
    progress: z.unknown().optional(),
    checkpoint: z.unknown().optional(),
    result: z.unknown().optional(),
    error: serializedError.optional(),
    history: z.array(open({ attempt: z.number() })).optional(),
    waiting: z.unknown().optional().describe('why a task that does not run yet waits'),
  })
  .describe('A task, as get() shows it (other fields of TaskInfo are carried too)');

export const taskList = z.object({ tasks: z.array(taskInfo) });

/** A task to submit (`submit()`): checked by the library, which names `task.<field>` in its errors. */
export const submitRequest = open({
    agent: z.string(),
    input: z.unknown().optional(),
    priority: z.enum(PRIORITIES).optional(),
    resources: z.array(z.string()).optional(),
    key: z.string().optional().describe('idempotency key'),
    group: z.string().optional(),
    dependsOn: z.array(z.string()).optional(),
    parentId: z.string().optional(),
    timeoutMs: z.number().optional(),
  })
  .describe('A task to submit; the other fields of submit() are taken too (README, API)');

export const breakerInfo = open({
  state: z.enum(['closed', 'open', 'half-open']),
  forced: z.boolean(),
  openedAt: z.number().nullable(),
  resetTimeoutMs: z.number(),
  halfOpenAt: z.number().nullable(),
});

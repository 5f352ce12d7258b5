/**
 * `GET /v1/openapi.json`: the OpenAPI 3.1 document of the listener it is asked on, made by
 * @fastify/swagger from the routes' zod schemas (fastify-type-provider-zod's `jsonSchemaTransform`),
 * so that the document and the validation cannot disagree. Routes registered before the plugin
 * has loaded are not seen by it: server.ts declares its routes after `registerOpenApi`.
 */
import { readFileSync } from 'node:fs';
import swagger from '@fastify/swagger';
import type { FastifyInstance } from 'fastify';
import { jsonSchemaTransform } from 'fastify-type-provider-zod';
import { z } from 'zod';

const VERSION = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

/** Loads @fastify/swagger; routes declared after it has loaded are in the document. */
export function registerOpenApi(app: FastifyInstance, listener: 'socket' | 'tcp'): void {
  const security = listener === 'tcp' ? { security: [{ bearer: [] as string[] }, { cookie: [] as string[] }] as Record<string, string[]>[] } : {};
  void app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Troupe daemon',
        version: VERSION,
        description: `The HTTP API of troupe daemon on its ${listener === 'tcp' ? 'TCP listener (every route needs the token)' : 'Unix socket'}. Errors answer { error: { code, message, details? } }.`,
      },
      ...(listener === 'tcp' && {
        components: {
          securitySchemes: {
            bearer: { type: 'http', scheme: 'bearer' },
            cookie: { type: 'apiKey', in: 'cookie', name: 'troupe_token' },
          },
        },
      }),
      ...security,
    },
    transform: jsonSchemaTransform,
  });
}

/** Serves the document (call once the plugin has loaded: in `app.after`). */
export function openApiRoute(app: FastifyInstance): void {
  const schema = { hide: true, response: { 200: z.looseObject({ openapi: z.string(), paths: z.record(z.string(), z.unknown()) }) } };
  app.get('/v1/openapi.json', { schema }, async () => app.swagger());
}

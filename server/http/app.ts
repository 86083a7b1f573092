// Builds the control plane's HTTP server: plugins, hooks, error envelope, OpenAPI and routes.
// `buildApp` does not listen; `serve.ts` does, and tests use `app.inject()` or listen on port 0.
import { randomUUID } from 'node:crypto';
import fastifyCookie from '@fastify/cookie';
import fastifyMultipart from '@fastify/multipart';
import fastifySwagger from '@fastify/swagger';
import fastifyWebsocket from '@fastify/websocket';
import Fastify, {
  type FastifyBaseLogger,
  type FastifyInstance,
  type RawReplyDefaultExpression,
  type RawRequestDefaultExpression,
  type RawServerDefault,
} from 'fastify';
import {
  jsonSchemaTransform,
  serializerCompiler,
  validatorCompiler,
  type ZodTypeProvider,
} from 'fastify-type-provider-zod';
import type { DestinationStream } from 'pino';
import { randomSecret } from '../auth/secrets.js';
import { parseSize } from '../config/units.js';
import type { Services } from '../services.js';
import { closeUnreadBody } from './closeUnreadBody.js';
import { ensureSameOrigin, isStreamRequest } from './ensureSameOrigin.js';
import { installErrorHandlers } from './errors.js';
import { onClientError, onFrameworkError } from './frameworkErrors.js';
import { installMetrics } from './metrics.js';
import { RequestLog } from './requestLog.js';
import { agentRoutes } from './routes/agentRoutes.js';
import { auditRoutes } from './routes/auditRoutes.js';
import { authRoutes } from './routes/authRoutes.js';
import { fileRoutes } from './routes/fileRoutes.js';
import { healthRoutes } from './routes/healthRoutes.js';
import { internalNodeRoutes } from './routes/internalNodeRoutes.js';
import { internalRoutes } from './routes/internalRoutes.js';
import { nodeConnectRoutes } from './routes/nodeConnectRoutes.js';
import { nodeJoinTokenRoutes } from './routes/nodeJoinTokenRoutes.js';
import { nodeRoutes } from './routes/nodeRoutes.js';
import { oidcRoutes } from './routes/oidcRoutes.js';
import { queueRoutes } from './routes/queueRoutes.js';
import { replicaRoutes } from './routes/replicaRoutes.js';
import { secretRoutes } from './routes/secretRoutes.js';
import { taskEventRoutes } from './routes/taskEventRoutes.js';
import { taskRoutes } from './routes/taskRoutes.js';
import { teamRoutes } from './routes/teamRoutes.js';
import { terminalRoutes } from './routes/terminalRoutes.js';
import { tokenRoutes } from './routes/tokenRoutes.js';
import { usageRoutes } from './routes/usageRoutes.js';
import { userRoutes } from './routes/userRoutes.js';
import { webRoutes } from './routes/webRoutes.js';
import { workspaceRoutes } from './routes/workspaceRoutes.js';
import { recordRoutes } from './routeTable.js';
import { screenInput } from './screenInput.js';
import { exemptStreams, serverTimeouts } from './serverTimeouts.js';

export type App = FastifyInstance<
  RawServerDefault,
  RawRequestDefaultExpression,
  RawReplyDefaultExpression,
  FastifyBaseLogger,
  ZodTypeProvider
>;

/** Paths whose values pino replaces with "[Redacted]" in every log line. */
const REDACT = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-csrf-token"]',
  'res.headers["set-cookie"]',
  '*.password',
  '*.token',
  '*.clientSecret',
  '*.apiKey',
];

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

export interface AppOptions {
  /** Extra route plugins (later features, tests). */
  plugins?: ((app: App, services: Services) => void | Promise<void>)[];
  /** Where log lines go (default stdout); null turns logging off. Redaction always applies. */
  logStream?: DestinationStream | null;
}

export async function buildApp(services: Services, options: AppOptions = {}): Promise<App> {
  const { config } = services;
  const app = Fastify({
    logger:
      options.logStream === null
        ? false
        : {
            level: config.log.level,
            redact: { paths: REDACT, censor: '[Redacted]' },
            ...(options.logStream ? { stream: options.logStream } : {}),
          },
    logController: new RequestLog(),
    bodyLimit: config.server.bodyLimitBytes,
    trustProxy: config.server.trustProxy,
    ...serverTimeouts(config.server),
    frameworkErrors: onFrameworkError,
    clientErrorHandler: onClientError,
    requestIdHeader: false,
    genReqId: (req) => {
      const given = req.headers['x-request-id'];
      return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
    },
    routerOptions: { ignoreTrailingSlash: true },
  }).withTypeProvider<ZodTypeProvider>() as unknown as App;

  recordRoutes(app as unknown as FastifyInstance);
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  installErrorHandlers(app);

  // Signs the short-lived OIDC cookie; kept in the store so every replica shares it.
  const cookieSecret = await services.settings.getOrCreate('cookie_secret', () => randomSecret(32));
  await app.register(fastifyCookie, { secret: cookieSecret });
  await app.register(fastifySwagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Remote Claude API',
        version: '1',
        description: 'Run Claude Code as a background worker on your repositories.',
      },
      components: {
        securitySchemes: {
          bearerAuth: {
            type: 'http',
            scheme: 'bearer',
            description: 'A personal API token (POST /api/v1/tokens).',
          },
          cookieAuth: { type: 'apiKey', in: 'cookie', name: 'rc_session' },
          agentToken: {
            type: 'http',
            scheme: 'bearer',
            description: "A workspace's agent token (RC_AGENT_TOKEN), for GET /api/v1/agent only.",
          },
          joinToken: {
            type: 'http',
            scheme: 'bearer',
            description:
              'A node join token (POST /api/v1/nodes/join-tokens), for GET /api/v1/nodes/connect only.',
          },
        },
      },
      security: [{ bearerAuth: [] }, { cookieAuth: [] }],
    },
    transform: jsonSchemaTransform,
  });

  await app.register(fastifyWebsocket, { options: { maxPayload: 1024 * 1024 } });
  await app.register(fastifyMultipart, {
    // One byte over the limit reaches the agent, which then refuses the file instead of keeping a cut one.
    limits: { fileSize: parseSize(config.workspaces.fileSizeLimit) + 1, files: 100, fields: 10 },
  });
  app.addHook('onClose', async () => {
    services.clusterMetrics.stop();
    await services.runtime.close();
    services.liveConnections.close();
    await services.pubsub.close();
    await services.leaders.close();
  });

  app.addHook('onRequest', async (req, reply) => {
    reply.header('x-request-id', req.id);
    services.liveConnections.noteRequest(req);
    if (isStreamRequest(req)) ensureSameOrigin(req, services.publicUrl);
  });
  closeUnreadBody(app as unknown as FastifyInstance);
  exemptStreams(app as unknown as FastifyInstance);
  app.addHook('preValidation', screenInput);
  app.addHook('onSend', async (req, reply, payload) => {
    if (services.audit.wants(req)) {
      try {
        await services.audit.recordRequest(req, reply);
      } catch (err) {
        req.log.error({ err }, 'could not write audit entry');
      }
    }
    return payload;
  });
  const metrics = installMetrics(app);
  services.clusterMetrics.register(metrics);

  healthRoutes(app, services, metrics);
  authRoutes(app, services);
  oidcRoutes(app, services);
  userRoutes(app, services);
  teamRoutes(app, services);
  tokenRoutes(app, services);
  secretRoutes(app, services);
  usageRoutes(app, services);
  auditRoutes(app, services);
  workspaceRoutes(app, services);
  nodeRoutes(app, services);
  nodeJoinTokenRoutes(app, services);
  nodeConnectRoutes(app, services);
  replicaRoutes(app, services);
  fileRoutes(app, services);
  terminalRoutes(app, services);
  agentRoutes(app, services);
  internalRoutes(app, services);
  internalNodeRoutes(app, services);
  taskRoutes(app, services);
  queueRoutes(app, services);
  taskEventRoutes(app, services);
  await webRoutes(app, services);
  for (const plugin of options.plugins ?? []) await plugin(app, services);

  app.get('/api/v1/openapi.json', { schema: { hide: true } }, async () => app.swagger());
  await app.ready();
  return app;
}

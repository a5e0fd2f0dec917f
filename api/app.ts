import type { Client } from '@temporalio/client';
import express, { type Express, type RequestHandler } from 'express';
import type { StellaConfig } from '../platform/config.js';
import type { Logger } from '../platform/logger.js';
import type { Database } from '../store/database.js';
import { accessControl } from './auth/access-control.js';
import { errorHandler, toDomainError } from './http-errors.js';
import { createApiMetrics, type ApiMetrics } from './metrics.js';
import { auditRoutes } from './routes/audit.js';
import { consoleRoutes } from './routes/console.js';
import { distributionRoutes } from './routes/distributions.js';
import { keyRoutes } from './routes/keys.js';
import { policyRoutes, YAML_TYPES } from './routes/policies.js';
import { profileRoutes } from './routes/profiles.js';
import { runRoutes } from './routes/runs.js';
import { runVerificationRoutes } from './routes/run-verification.js';
import { eventRoutes } from './routes/events.js';
import { scheduleRoutes } from './routes/schedules.js';
import { StellaError } from '../domain/errors.js';

export interface ApiDependencies {
  db: Database;
  temporal: Client;
  config: StellaConfig;
  logger: Logger;
  metrics?: ApiMetrics;
}

// The thin HTTP face of the export center: it validates, records and starts workflows;
// it never writes a bundle itself.
export function createApp(deps: ApiDependencies): Express {
  const metrics = deps.metrics ?? createApiMetrics();
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.use(accessControl(deps));
  app.use(express.json({ limit: '1mb' }));
  app.use(requireJsonBodies);
  app.use(requestTimer(metrics));

  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  app.get('/metrics', async (_req, res) => {
    res.type(metrics.registry.contentType).send(await metrics.registry.metrics());
  });
  app.use(profileRoutes(deps.db));
  app.use(policyRoutes(deps.db));
  app.use(runRoutes({ ...deps, metrics }));
  app.use(scheduleRoutes(deps));
  app.use(eventRoutes(deps));
  app.use(auditRoutes(deps.db));
  app.use(distributionRoutes(deps));
  app.use(keyRoutes(deps));
  app.use(runVerificationRoutes({ ...deps, metrics }));
  app.use(consoleRoutes());

  app.use((req, _res, next) => {
    next(new StellaError('not_found', `no route for ${req.method} ${req.path}`));
  });
  app.use(countErrors(metrics));
  app.use(errorHandler(deps.logger));

  return app;
}

function requestTimer(metrics: ApiMetrics): express.RequestHandler {
  return (req, res, next) => {
    const stop = metrics.requestSeconds.startTimer({ method: req.method });
    res.on('finish', () => {
      stop({ route: req.route?.path ?? 'unmatched', status: String(res.statusCode) });
    });
    next();
  };
}

function countErrors(metrics: ApiMetrics): express.ErrorRequestHandler {
  return (err, _req, _res, next) => {
    metrics.requestErrors.inc({ error_class: toDomainError(err).code });
    next(err);
  };
}

// express.json() skips bodies of any other type, which would then read as an empty request
// and fail on its first required field; every route says what is actually wrong instead.
// Requests without a body (a cancel, a GET) pass, and so do the bodies a route parses
// itself (policy YAML).
const requireJsonBodies: RequestHandler = (req, _res, next) => {
  const ownTypes = OWN_BODY_TYPES[`${req.method} ${req.path}`];
  const ownBody = ownTypes !== undefined && req.is(ownTypes);
  // fetch sends `Content-Length: 0` with a bodiless POST, which type-is counts as a body.
  const empty = req.headers['content-length'] === '0';
  if (req.is('application/json') === false && !ownBody && !empty) {
    const message = 'the request body must be JSON, sent with Content-Type: application/json';
    next(new StellaError('bad_request', message));
    return;
  }
  next();
};

const OWN_BODY_TYPES: Record<string, string[]> = { 'POST /export/policies': YAML_TYPES };

import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

// Labels never carry tenant names or ids: metrics are scraped by operators of all tenants.
export function createApiMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });

  return {
    registry,
    runsCreated: new Counter({
      name: 'export_runs_created_total',
      help: 'Export runs created through the API',
      labelNames: ['profile_kind', 'trigger'],
      registers: [registry],
    }),
    requestErrors: new Counter({
      name: 'export_api_errors_total',
      help: 'API answers with an error, by error class',
      labelNames: ['error_class'],
      registers: [registry],
    }),
    requestSeconds: new Histogram({
      name: 'export_api_request_seconds',
      help: 'API request durations',
      labelNames: ['method', 'route', 'status'],
      registers: [registry],
    }),
  };
}

export type ApiMetrics = ReturnType<typeof createApiMetrics>;

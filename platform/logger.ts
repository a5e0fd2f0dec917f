import { pino, type Logger } from 'pino';

export type { Logger };

// Structured JSON on stderr, so that a CLI's stdout stays clean for --json output. Context
// (tenant, run id, activity) is bound once per unit of work with logger.child().
export function createLogger(name: string, level = process.env.STELLA_LOG_LEVEL ?? 'info'): Logger {
  return pino(
    {
      name,
      level,
      base: { service: name },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: {
        paths: ['*.authorization', '*.password', '*.privateKey', '*.secret', '*.token'],
        censor: '[redacted]',
      },
    },
    pino.destination(2),
  );
}

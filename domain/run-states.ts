// A run's life: queued until a slot frees, then one state per workflow phase, then an end.
export const RUN_STATES = [
  'queued',
  'planning',
  'writing',
  'signing',
  'distributing',
  'succeeded',
  'failed',
  'cancelled',
] as const;

export type RunState = (typeof RUN_STATES)[number];

export const TERMINAL_STATES: readonly RunState[] = ['succeeded', 'failed', 'cancelled'];

import { CancelledFailure } from '@temporalio/common';
import { Context } from '@temporalio/activity';

// For activity work with no natural progress points (one SQL transaction, packing an
// archive, waiting on another workflow): a heartbeat on a timer tells Temporal the worker
// is alive, and its answer is how a cancellation request reaches the activity. The timer
// cannot fire while a synchronous call blocks the event loop, so heartbeat timeouts must
// exceed the longest such call.
export async function keepAlive<T>(body: () => Promise<T>, intervalMs = 2_000): Promise<T> {
  const context = Context.current();
  context.heartbeat();
  const timer = setInterval(() => context.heartbeat(), intervalMs);
  try {
    return await body();
  } finally {
    clearInterval(timer);
  }
}

// The last point at which an activity can still give up: call it before an irreversible
// step (a rename into the published name).
export function throwIfCancelled(): void {
  const signal = Context.current().cancellationSignal;
  if (signal.aborted) {
    throw signal.reason instanceof Error ? signal.reason : new CancelledFailure('cancelled');
  }
}

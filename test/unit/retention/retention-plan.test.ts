import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { planRetention, type RetentionCandidate } from '../../../activities/retention-activities.js';

const NOW = new Date('2025-06-01T00:00:00Z');
const DEFAULTS = { dataDays: 30, metadataDays: 365 };

function run(runId: string, ageDays: number, extra: Partial<RetentionCandidate> = {}): RetentionCandidate {
  const finishedAt = new Date(NOW.getTime() - ageDays * 86_400_000).toISOString();

  return { runId, profileId: 'prof_json_raw', finishedAt, ...extra };
}

describe('planRetention', () => {
  describe('when bundles are younger, older than dataDays and older than metadataDays', () => {
    it('returns nothing, data and all for them in that order', () => {
      const plan = planRetention([run('young', 5), run('aged', 40), run('ancient', 400)], { tenant: 't', defaults: DEFAULTS }, NOW);

      assert.deepEqual(plan.prune, [
        { runId: 'aged', level: 'data' },
        { runId: 'ancient', level: 'all' },
      ]);
    });
  });

  describe('when an old bundle is the base of a chain of deltas whose newest is kept', () => {
    it('returns every base of the chain as kept', () => {
      const runs = [run('full', 400), run('delta1', 200, { baseRunId: 'full' }), run('delta2', 1, { baseRunId: 'delta1' })];

      const plan = planRetention(runs, { tenant: 't', defaults: DEFAULTS }, NOW);

      assert.deepEqual(plan.prune, []);
      assert.deepEqual(plan.keptAsBase.sort(), ['delta1', 'full']);
    });
  });

  describe('when the delta itself is due', () => {
    it('returns its base for pruning too', () => {
      const runs = [run('full', 50), run('delta', 40, { baseRunId: 'full' })];

      const plan = planRetention(runs, { tenant: 't', defaults: DEFAULTS }, NOW);

      assert.deepEqual(plan.prune.map((p) => p.runId), ['full', 'delta']);
      assert.deepEqual(plan.keptAsBase, []);
    });
  });

  describe('when a profile has its own rule', () => {
    it('returns the profile rule applied over the defaults', () => {
      const runs = [run('short', 3, { profileId: 'short-lived' }), run('default', 3)];
      const profiles = { 'short-lived': { dataDays: 1, metadataDays: 2 } };

      const plan = planRetention(runs, { tenant: 't', defaults: DEFAULTS, profiles }, NOW);

      assert.deepEqual(plan.prune, [{ runId: 'short', level: 'all' }]);
    });
  });
});

import path from 'node:path';
import type { StellaConfig } from '../platform/config.js';

// Where a run's bundle lives. Work happens under .staging/ and is renamed into place only
// when finished, so a folder or archive under the final name is always complete.
export function bundlePaths(config: StellaConfig, run: { tenant: string; runId: string }) {
  const tenantDir = path.join(config.exportsDir, run.tenant);
  const stagingRoot = path.join(tenantDir, '.staging');

  return {
    tenantDir,
    staging: path.join(stagingRoot, run.runId),
    writeState: path.join(stagingRoot, `${run.runId}.write-state.json`),
    final: path.join(tenantDir, run.runId),
    archive: path.join(tenantDir, `${run.runId}.tar.zst`),
  };
}

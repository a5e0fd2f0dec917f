// The worker bundles this module: it lists every workflow and nothing else.
export { exportRunWorkflow } from './export-run.js';
export { eventExportWorkflow, scheduledExportWorkflow } from './export-trigger.js';
export { exportRetentionWorkflow } from './retention.js';
export { distributeRunWorkflow } from './distribute-run.js';

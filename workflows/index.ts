// The worker bundles this module: it lists every workflow and nothing else.
export { exportRunWorkflow } from './export-run.js';

// Where a json:policy bundle keeps each part (docs/profiles/json-policy.md).
export const POLICY_BUNDLE_FILES = {
  snapshot: 'policy/snapshot.yaml',
  evaluation: 'policy/evaluation.json',
  context: 'inputs/context.json',
  findingInputs: 'inputs/findings.jsonl.zst',
  vexInputs: 'inputs/vex_statements.jsonl.zst',
  decisions: 'findings/policy_evaluated.jsonl.zst',
  consensus: 'consensus/vex_consensus.jsonl',
} as const;

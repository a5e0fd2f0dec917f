#!/usr/bin/env node
// Runs the CLI from its TypeScript sources through tsx, both in a checkout (`npx stella`)
// and when the package is installed (`stella`).
import { register } from 'tsx/esm/api';

register();
await import('../cli/main.ts');

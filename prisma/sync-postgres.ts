// Writes prisma/postgres/schema.prisma from prisma/schema.prisma: the models are shared, only
// the provider and the generated client's folder differ. Run after editing the SQLite schema.
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';

const source = readFileSync('prisma/schema.prisma', 'utf8');
const postgres = source
  .replace('output          = "../generated/sqlite"', 'output          = "../../generated/postgres"')
  .replace('provider = "sqlite"', 'provider = "postgresql"')
  .replace('url      = "file:../.data/stella.db"', 'url      = "postgresql://localhost/stella"')
  .replace(/^\/\/ prisma\/postgres.*\n/m, '// Generated from prisma/schema.prisma by `npm run prisma:sync`; edit that file.\n');

mkdirSync('prisma/postgres', { recursive: true });
writeFileSync('prisma/postgres/schema.prisma', postgres);

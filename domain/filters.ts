import { z } from 'zod';

const rfc3339 = z.iso.datetime({ offset: true });
// An empty list would select nothing; leave the filter out to select everything.
const nonEmptyStrings = z.array(z.string().min(1).max(512)).min(1).max(10_000);

export const RECORD_KINDS = ['advisories', 'vex', 'sboms'] as const;
export type RecordKind = (typeof RECORD_KINDS)[number];

// What a run selects from the store. Every field narrows; an absent field selects all.
export const exportFiltersSchema = z
  .strictObject({
    since: rfc3339.optional(),
    until: rfc3339.optional(),
    ecosystems: nonEmptyStrings.optional(),
    packages: nonEmptyStrings.optional(),
    advisoryIds: nonEmptyStrings.optional(),
    excludeAdvisoryIds: nonEmptyStrings.optional(),
    vulnerabilities: nonEmptyStrings.optional(),
    products: nonEmptyStrings.optional(),
    imageDigests: nonEmptyStrings.optional(),
    repositories: nonEmptyStrings.optional(),
    tags: nonEmptyStrings.optional(),
    include: z.array(z.enum(RECORD_KINDS)).min(1).optional(),
    includeWithdrawn: z.boolean().optional(),
  })
  .refine((f) => !f.since || !f.until || f.since <= f.until, {
    message: 'since must not be after until',
    path: ['since'],
  });

export type ExportFilters = z.infer<typeof exportFiltersSchema>;

export function includes(filters: ExportFilters, kind: RecordKind): boolean {
  return !filters.include || filters.include.includes(kind);
}

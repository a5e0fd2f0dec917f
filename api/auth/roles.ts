// The three export roles, weakest first. Each role includes every role before it
// (Admin ⊇ Operator ⊇ Viewer), so a check is a comparison of ranks.
export const ROLES = ['Export.Viewer', 'Export.Operator', 'Export.Admin'] as const;

export type Role = (typeof ROLES)[number];

export function isRole(value: unknown): value is Role {
  return typeof value === 'string' && (ROLES as readonly string[]).includes(value);
}

export function grants(granted: readonly Role[], required: Role): boolean {
  const needed = ROLES.indexOf(required);

  return granted.some((role) => ROLES.indexOf(role) >= needed);
}

// The strongest role held, for messages and audit details.
export function highestRole(granted: readonly Role[]): Role | undefined {
  return [...ROLES].reverse().find((role) => granted.includes(role));
}

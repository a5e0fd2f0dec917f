// The three kinds of evidence a mirror carries, and how a VEX statement's slot is keyed.
export const MIRROR_KINDS = ['advisories', 'vex', 'sboms'] as const;
export type MirrorKind = (typeof MIRROR_KINDS)[number];

// The slot key of a VEX statement: vulnerability and product joined by a character that
// neither contains (ASCII unit separator).
export const VEX_KEY_SEPARATOR = '\u001f';

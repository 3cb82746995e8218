/**
 * Image checks for every cloud at once (CHECKS.md): rules over the inspected guest and the disk,
 * profiles that pick rules and set limits per cloud, and reports in the vendors' shapes.
 */
export { check, prepare, evaluate, selectProfiles, runItem, platformName, DEFAULT_PROFILE, type CheckOptions } from './engine.js';
export { PROFILES, PROFILE_NAMES } from './profiles.js';
export { RULES } from './rules/index.js';
export { renderTxt, type CheckReport, type ReportItem, type ReportProfile } from './report.js';
export type { Rule } from './rule.js';
export type { CheckContext } from './context.js';
export type { CheckEvidence, CheckItem, CheckProgress, ImageDigest, ImageFacts, ImportParameters, NameSet, Outcome, OsSupport, Profile, ProfileReport, Severity, Stance, Verdict } from './types.js';

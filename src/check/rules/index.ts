/** Every rule, by catalogue order. */
import type { Rule } from '../rule.js';
import { DISK_RULES } from './disk.js';
import { EXTRA_RULES } from './extras.js';
import { IMAGE_RULES } from './image.js';
import { LINUX_RULES } from './linux.js';
import { WINDOWS_RULES } from './windows.js';

export const RULES: readonly Rule[] = [...IMAGE_RULES, ...DISK_RULES, ...LINUX_RULES, ...EXTRA_RULES, ...WINDOWS_RULES];

import { UsageError } from "../errors.js";

/**
 * Kubernetes' naming rules (apimachinery's validation), for what flowpack writes into a Job and
 * for what users pass it: names it derives are made to fit, names users give are checked.
 */

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const LABEL_NAME = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
/** Longest DNS-1123 label, label name or label value. */
export const MAX_LABEL_LENGTH = 63;

/** A DNS-1123 label (a Job's or namespace's name): lowercase letters, digits and '-', at most 63. */
export function isDnsLabel(value: string): boolean {
  return value.length <= MAX_LABEL_LENGTH && DNS_LABEL.test(value);
}

/** A DNS-1123 subdomain (a Secret's name): DNS labels joined by '.', at most 253. */
export function isDnsSubdomain(value: string): boolean {
  return value.length <= 253 && DNS_SUBDOMAIN.test(value);
}

/** A label value: empty, or at most 63 of [A-Za-z0-9-_.], starting and ending with a letter or digit. */
export function isLabelValue(value: string): boolean {
  return value === "" || (value.length <= MAX_LABEL_LENGTH && LABEL_NAME.test(value));
}

/** A label key: `[prefix/]name`, the prefix a DNS subdomain, the name as a label value (not empty). */
export function isLabelKey(key: string): boolean {
  const slash = key.lastIndexOf("/");
  const [prefix, name] = slash === -1 ? [undefined, key] : [key.slice(0, slash), key.slice(slash + 1)];
  return (prefix === undefined || isDnsSubdomain(prefix)) && name !== "" && isLabelValue(name);
}

/** `value` made into a label value: other characters become '-', cut to 63, trimmed to start and end with a letter or digit. */
export function toLabelValue(value: string): string {
  return value
    .replace(/[^A-Za-z0-9_.-]/g, "-")
    .slice(0, MAX_LABEL_LENGTH)
    .replace(/^[^A-Za-z0-9]+/, "")
    .replace(/[^A-Za-z0-9]+$/, "");
}

/** `value` made into a DNS-1123 label of at most `max` characters (empty when nothing is left). */
export function toDnsLabel(value: string, max = MAX_LABEL_LENGTH): string {
  return value
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, "-")
    .slice(0, max)
    .replace(/^-+/, "")
    .replace(/-+$/, "");
}

/** Refuses `value` unless `valid`; the message names the option and the rule. */
export function checkName(option: string, value: string, valid: (v: string) => boolean, rule: string): string {
  if (!valid(value)) throw new UsageError(`${option} ${JSON.stringify(value)}: not a valid Kubernetes name`, { hint: rule });
  return value;
}

export const DNS_LABEL_RULE = "lowercase letters, digits and '-', starting and ending with a letter or digit, at most 63 characters";
export const DNS_SUBDOMAIN_RULE = "lowercase letters, digits, '-' and '.', starting and ending with a letter or digit, at most 253 characters";
export const LABEL_RULE = "a key [prefix/]name and a value: names and values at most 63 of letters, digits, '-', '_', '.', starting and ending with a letter or digit; a prefix is a DNS subdomain";

// Text from the host (cgroup paths, process names, trace fields) as a terminal is shown it.

const SHORT_ESCAPES: Readonly<Record<string, string>> = { '\n': '\\n', '\r': '\\r', '\t': '\\t', '\b': '\\b', '\f': '\\f' };

/**
 * A name as tables and messages print it: its control characters (C0, DEL, C1) escaped as \n,
 * \t, ... or \u00XX (a workload's newline and a terminal escape reached the terminal raw, and
 * broke the table). A backslash is left as it is: systemd's unit names hold \x2d.
 */
export function printableName(v: string): string {
  return v.replace(/[\u0000-\u001f\u007f-\u009f]/g, (c) => SHORT_ESCAPES[c] ?? `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

// What the node clients of davit's MCP tests share: one "ok: ..." line per check, exit 1 on the first failure.

/** Prints "ok: what" when cond holds; else "FAILED: what: detail" on stderr, and exits 1. */
export function check(cond, what, detail) {
  if (!cond) {
    console.error(`FAILED: ${what}${detail === undefined ? "" : ": " + JSON.stringify(detail)}`);
    process.exit(1);
  }
  console.log(`ok: ${what}`);
}

/** The error the promise rejects with, or null when it resolves. */
export async function rejects(promise) {
  try {
    await promise;
    return null;
  } catch (e) {
    return e;
  }
}

// A completion ticket as a brand's server signs it (docs/tasks.md shows this same code).
// Usage: node sign-ticket.mjs KEY_ID SECRET MEMBER_ID TASK_CODE [ISSUED_AT_UNIX_SECONDS]
import { createHmac, randomBytes } from "node:crypto";

export function signTicket(keyId, secret, memberId, taskCode, issuedAt = Math.floor(Date.now() / 1000)) {
  const payload = Buffer.from(JSON.stringify({
    k: keyId, m: memberId, t: taskCode, iat: issuedAt, n: randomBytes(12).toString("base64url"),
  })).toString("base64url");
  const signature = createHmac("sha256", secret).update(`v1.${payload}`).digest("hex");
  return `v1.${payload}.${signature}`;
}

if (process.argv.length >= 6) {
  const [keyId, secret, memberId, taskCode, issuedAt] = process.argv.slice(2);
  console.log(signTicket(keyId, secret, memberId, taskCode, issuedAt ? Number(issuedAt) : undefined));
}

// Runs the graphql-http server audits against a live server and prints one JSON line per audit.
import { serverAudits } from "graphql-http";

const url = process.argv[2];
const results = await Promise.all(serverAudits({ url, fetchFn: fetch }).map(async (audit) => {
  const result = await audit.fn();
  return { id: audit.id, name: audit.name, status: result.status, reason: result.reason ?? null };
}));
console.log(JSON.stringify(results));

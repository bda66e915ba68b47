// Subscribes with the graphql-ws client (the library H5 front ends use) and prints one JSON line per
// event: {"connected": true} first, then each result, and exits after the number of results asked for.
import { createClient } from "graphql-ws";
import WebSocket from "ws";

const [url, token, query, count] = process.argv.slice(2);
let left = Number(count);
const client = createClient({
  url,
  webSocketImpl: WebSocket,
  connectionParams: { authorization: `Bearer ${token}` },
  retryAttempts: 0,
  on: { connected: () => console.log(JSON.stringify({ connected: true })) },
});
client.subscribe({ query }, {
  next: (result) => {
    console.log(JSON.stringify(result));
    if (--left === 0) { client.dispose(); process.exit(0); }
  },
  error: (error) => { console.log(JSON.stringify({ error: String(error?.message ?? error?.reason ?? error) })); process.exit(1); },
  complete: () => process.exit(0),
});
setTimeout(() => { console.log(JSON.stringify({ error: "timed out" })); process.exit(2); }, 15000);

// The graphql-http audit suite (GraphQL over HTTP conformance) against a running server:
// `node audit.mjs <http url of /graphql>`. Prints one line per audit that did not pass, then
// `MUST <passed>/<total>`, `SHOULD <passed>/<total>`, `MAY <passed>/<total>`; exits 1 unless every
// MUST and SHOULD audit passes (MAY audits are informational).
import { serverAudits } from 'graphql-http';

const url = process.argv[2];
if (!url) {
  console.error('usage: node audit.mjs <url>');
  process.exit(2);
}

const counts = { MUST: [0, 0], SHOULD: [0, 0], MAY: [0, 0] };
for (const audit of serverAudits({ url })) {
  const result = await audit.fn();
  const level = audit.name.split(' ')[0];
  counts[level][1] += 1;
  if (result.status === 'ok') {
    counts[level][0] += 1;
  } else {
    let body = '';
    try {
      body = (await result.response.text()).slice(0, 300);
    } catch {
      // The body was read by the audit already.
    }
    const status = result.response?.status;
    console.log(`${result.status} ${audit.id} ${audit.name}: ${result.reason} (status ${status}) ${body}`);
  }
}
for (const [level, [passed, total]] of Object.entries(counts)) {
  console.log(`${level} ${passed}/${total}`);
}
const complete = (level) => counts[level][0] === counts[level][1];
process.exit(complete('MUST') && complete('SHOULD') ? 0 : 1);

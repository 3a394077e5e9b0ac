// The real Apollo Client 3 (what many dashboards use) against a running server:
// `node apollo.mjs <http url of /graphql>`. It sends `Accept: */*`; requests the server refuses
// before executing (validation, a variable of the wrong type, a depth limit) must reach the
// application as `graphQLErrors` with their `extensions.code`, not as a network error
// ("Response not successful: Received status code 400"). Prints one JSON line per case; exits 1
// when any case fails.
import { ApolloClient, HttpLink, InMemoryCache, gql } from '@apollo/client/core/index.js';

const url = process.argv[2];
if (!url) {
  console.error('usage: node apollo.mjs <url>');
  process.exit(2);
}

const client = new ApolloClient({
  link: new HttpLink({ uri: url }),
  cache: new InMemoryCache(),
  defaultOptions: { query: { fetchPolicy: 'no-cache' } },
});

const deep = `{ ${'regency(code: "36.03") { province { regencies { '.repeat(6)}code${' } } }'.repeat(6)} }`;
const cases = [
  { name: 'validation', query: '{ noSuchField }', variables: {} },
  {
    name: 'variable of the wrong type',
    query: 'query($y: Int!) { coverageStats(year: $y) { year } }',
    variables: { y: 'twenty' },
  },
  { name: 'depth limit', query: deep, variables: {} },
];

let failed = false;
// One that works, so that a failure below is not a server that cannot be reached at all.
const ok = await client.query({ query: gql('{ provinces { code } }') });
if (!Array.isArray(ok.data?.provinces) || ok.data.provinces.length === 0) {
  console.log(JSON.stringify({ case: 'a valid query', ok: false, data: ok.data }));
  failed = true;
}
for (const { name, query, variables } of cases) {
  let outcome;
  try {
    const result = await client.query({ query: gql(query), variables });
    outcome = { case: name, ok: false, unexpected: 'no error', data: result.data };
  } catch (error) {
    const codes = (error.graphQLErrors ?? []).map((e) => e.extensions?.code);
    outcome = {
      case: name,
      ok: codes.length > 0 && codes.every((code) => typeof code === 'string' && code.length > 0),
      graphQLErrors: codes,
      networkError: error.networkError ? String(error.networkError.message ?? error.networkError) : null,
      message: error.message,
    };
  }
  failed ||= !outcome.ok;
  console.log(JSON.stringify(outcome));
}
process.exit(failed ? 1 : 0);

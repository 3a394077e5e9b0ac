// jaminan's GraphiQL, started from a file of its own: the page's Content-Security-Policy runs
// scripts from this server only, never inline ones.
// Subscriptions go over graphql-transport-ws on the same path; the Headers tab's
// Authorization is sent in connection_init. With sign-in (--oidc-client-id) the signed-in
// person's token is sent the same way, unless the Headers tab names another Authorization.
import * as signin from "/signin/assets/signin.js";

const subscriptionUrl = (location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '/graphql';
const base = GraphiQL.createFetcher({ url: '/graphql', subscriptionUrl });
const fetcher = (params, opts) => {
  const token = signin.accessToken();
  const headers = token ? { Authorization: 'Bearer ' + token, ...(opts && opts.headers) } : opts && opts.headers;
  return base(params, { ...opts, headers });
};
const hint = signin.configured
  ? '# Statistics are open. Worker data and mutations need you signed in (Sign in, above), or an API key\n# in the Headers tab below: {"Authorization": "Bearer jmn_..."}.\n'
  : '# Statistics are open. Worker data and mutations need an API key: in the Headers tab\n# below, enter {"Authorization": "Bearer jmn_..."} (jaminan api-key create --name you --role admin).\n';
if (signin.configured) {
  document.getElementById('account').hidden = false;
  signin.attach(document.getElementById('signin-button'), document.getElementById('person'), () => 'en');
  signin.start();
}
ReactDOM.createRoot(document.getElementById('graphiql')).render(
  React.createElement(GraphiQL, {
    fetcher,
    isHeadersEditorEnabled: true,
    shouldPersistHeaders: false,
    defaultQuery: hint + '{\n  coverageStats(areaCode: "36.03", year: 2023) {\n    areaName coveredWorkers previousYearCovered newlyCovered growthRate targetProgress\n  }\n}\n',
  }),
);

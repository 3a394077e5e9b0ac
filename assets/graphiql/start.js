// jaminan's GraphiQL, started from a file of its own: the page's Content-Security-Policy runs
// scripts from this server only, never inline ones.
// Subscriptions go over graphql-transport-ws on the same path; the Headers tab's
// Authorization is sent in connection_init.
const subscriptionUrl = (location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '/graphql';
const fetcher = GraphiQL.createFetcher({ url: '/graphql', subscriptionUrl });
ReactDOM.createRoot(document.getElementById('graphiql')).render(
  React.createElement(GraphiQL, {
    fetcher,
    isHeadersEditorEnabled: true,
    shouldPersistHeaders: false,
    defaultQuery: '# Statistics are open. Worker data and mutations need an API key: in the Headers tab\n# below, enter {"Authorization": "Bearer jmn_..."} (jaminan api-key create --name you --role admin).\n{\n  coverageStats(areaCode: "36.03", year: 2023) {\n    areaName coveredWorkers previousYearCovered newlyCovered growthRate targetProgress\n  }\n}\n',
  }),
);

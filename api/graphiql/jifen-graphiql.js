// Jifen's GraphiQL. `?token=<member or staff token>` fills the Authorization header and the
// WebSocket's connection_init (subscriptions authenticate there); `?q=` opens a document (`query` would be a GraphQL GET).
(function () {
  "use strict";
  var params = new URLSearchParams(window.location.search);
  var token = params.get("token");
  var httpUrl = new URL("/graphql", window.location.href);
  var wsUrl = new URL(httpUrl.toString());
  wsUrl.protocol = httpUrl.protocol === "https:" ? "wss:" : "ws:";
  var authorization = token ? "Bearer " + token : null;

  var fetcher = GraphiQL.createFetcher({
    url: httpUrl.toString(),
    subscriptionUrl: wsUrl.toString(),
    wsConnectionParams: authorization ? { authorization: authorization } : {},
  });
  var root = ReactDOM.createRoot(document.getElementById("graphiql"));
  root.render(React.createElement(GraphiQL, {
    fetcher: fetcher,
    plugins: [GraphiQLPluginExplorer.explorerPlugin()],
    query: params.get("q") || undefined,
    defaultQuery: "{ me { nickname points { available } tier { code } } }",
    defaultHeaders: authorization ? JSON.stringify({ Authorization: authorization }, null, 2) : "",
    defaultEditorToolsVisibility: authorization ? "headers" : true,
    isHeadersEditorEnabled: true,
    shouldPersistHeaders: false,
    inputValueDeprecation: true,
  }));
})();

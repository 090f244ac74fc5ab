// GraphiQL for assetgraph: served from the gateway itself (no CDN), with no inline script so
// that the page's Content-Security-Policy can say script-src 'self'.
// Request headers typed in the editor (a bearer token) are not written to localStorage.
(function () {
  "use strict";
  var root = document.getElementById("graphiql");
  var endpoint = root.getAttribute("data-endpoint") || window.location.pathname;
  var fetcher = GraphiQL.createFetcher({ url: endpoint });
  ReactDOM.createRoot(root).render(
    React.createElement(GraphiQL, {
      fetcher: fetcher,
      shouldPersistHeaders: false,
      defaultEditorToolsVisibility: true,
      defaultQuery:
        "# Send a token in Headers below:\n" +
        "#   {\"Authorization\": \"Bearer <token>\"}\n" +
        "# `assetgraph token --role it_leader` prints one for the demo.\n" +
        "{\n  assets(limit: 5) {\n    asset_tag\n    hostname\n    status\n  }\n}\n",
    })
  );
})();

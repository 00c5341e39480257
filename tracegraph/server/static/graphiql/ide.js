// GraphiQL for tracegraph: every asset from this server, nothing from a CDN.
// The page itself holds no data; each query carries the token typed into the headers
// tab ({"Authorization": "Bearer tg_..."}), which the browser keeps for this tab only.
"use strict";
(function () {
  var saved = sessionStorage.getItem("tracegraph-graphiql-headers") || "";
  var fetcher = GraphiQL.createFetcher({url: window.location.pathname});
  function App() {
    return React.createElement(GraphiQL, {
      fetcher: fetcher,
      defaultHeaders: saved,
      headerEditorEnabled: true,
      shouldPersistHeaders: false,
      defaultEditorToolsVisibility: "headers",
      defaultQuery: "# Traces, their marks and costs. Ctrl+Enter runs.\n" +
        "# A server with tokens wants one in the Headers tab below:\n" +
        "#   {\"Authorization\": \"Bearer tg_...\"}\n" +
        "{\n  traces(first: 5) {\n    edges { node { id workflow outcome costUsd wastedUsd } }\n  }\n}\n",
      onEditHeaders: function (text) { sessionStorage.setItem("tracegraph-graphiql-headers", text); }
    });
  }
  ReactDOM.createRoot(document.getElementById("graphiql")).render(React.createElement(App));
})();

"""Request and response bodies, one module per audience: `creditor` (/api/v1), `internal` (the action
server's /internal/v1), `console` (the agent console's /console/api); `common` holds what two of them share."""

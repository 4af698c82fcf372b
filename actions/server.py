"""The action server: the Rasa SDK's app, on loopback by default, refusing every call without the shared secret.

Rasa sends the secret in the `X-Action-Server-Token` header (endpoints.yml). Without this check anyone who
can reach the port could run actions for any conversation id, and the actions call the api with its token.
Started as `python -m actions.server` (`scripts/stack.py` does it); `/health` alone answers without the
secret, and says nothing but "ok".
"""

from __future__ import annotations

import argparse
import hmac
import logging

from rasa_sdk.endpoint import create_app
from sanic import Sanic, response
from sanic.request import Request
from sanic.response import HTTPResponse

from actions.api_client import CONFIG, close_session

TOKEN_HEADER = "X-Action-Server-Token"
OPEN_PATHS = frozenset({"/health"})

logger = logging.getLogger(__name__)


def create_server(token: str) -> Sanic:
    if not token:
        raise ValueError("ACTION_SERVER_TOKEN is empty: the action server refuses to start without a secret.")
    app = create_app("actions", cors_origins=None)

    @app.middleware("request")
    async def require_token(request: Request) -> HTTPResponse | None:
        if request.path in OPEN_PATHS:
            return None
        given = request.headers.get(TOKEN_HEADER, "")
        if not hmac.compare_digest(given.encode(), token.encode()):
            # Nothing of the request is echoed back (the SDK's own error handler would return the body).
            return response.json({"error": "unauthorised"}, status=401)
        return None

    @app.listener("after_server_stop")
    async def close_api_client(_app: Sanic, _loop: object) -> None:
        await close_session()

    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default=CONFIG.action_server_host, help="address to listen on (default: loopback)")
    parser.add_argument("--port", type=int, default=5055)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    CONFIG.refuse_development_secrets()
    app = create_server(CONFIG.action_server_token)
    logger.info("action server on http://%s:%s", args.host, args.port)
    app.run(host=args.host, port=args.port, workers=1, access_log=False, motd=False)


if __name__ == "__main__":
    main()

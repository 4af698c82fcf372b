"""The Twilio transport of the outbox: the official library, pointed at a configurable base URL.

`TwilioSender` turns an outbox row into a Messages API call and Twilio's errors into the outbox's
`SendFailed` (transient for 429, 5xx and network errors; permanent otherwise). In development and tests the
base URL is the local fake Twilio (`scripts/fake_twilio.py`): nothing reaches Twilio.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import requests
from twilio.base.exceptions import TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

from api.core.config import Settings
from api.services.outbox import PhoneMessage, SendFailed, Sent

TWILIO_API = "https://api.twilio.com"


class RedirectingHttpClient(TwilioHttpClient):
    """The official client's HTTP layer, sending to `base_url` instead of api.twilio.com.

    Points the library at the local fake Twilio in development and tests (nothing reaches Twilio), or at
    an egress proxy; with the default base URL it is the stock client.
    """

    def __init__(self, base_url: str, timeout: float = 10.0) -> None:
        super().__init__(timeout=timeout)
        self.base_url = base_url.rstrip("/")

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Any:  # noqa: ANN401 - library signature
        if url.startswith(TWILIO_API):
            url = self.base_url + url[len(TWILIO_API) :]
        return super().request(method, url, *args, **kwargs)


def twilio_client(settings: Settings) -> Client:
    return Client(
        settings.twilio_account_sid,
        settings.twilio_auth_token,
        http_client=RedirectingHttpClient(settings.twilio_api_base_url),
    )


def twilio_address(channel: str, number: str) -> str:
    return f"whatsapp:{number}" if channel == "whatsapp" else number


def our_number(settings: Settings, channel: str) -> str:
    return settings.twilio_whatsapp_number if channel == "whatsapp" else settings.twilio_sms_number


class TwilioSender:
    def __init__(self, settings: Settings, client: Client | None = None) -> None:
        self.settings = settings
        self.client = client or twilio_client(settings)

    def params(self, message: PhoneMessage) -> dict[str, Any]:
        params: dict[str, Any] = {
            "to": twilio_address(message.channel, message.to),
            "from_": twilio_address(message.channel, our_number(self.settings, message.channel)),
            "status_callback": f"{self.settings.base_url}/channels/twilio/status",
        }
        if message.content_sid:
            params["content_sid"] = message.content_sid
            if message.variables:
                params["content_variables"] = json.dumps(message.variables)
        else:
            params["body"] = message.body
        return params

    def send(self, message: PhoneMessage) -> Sent:
        try:
            sent = self.client.messages.create(**self.params(message))
        except TwilioRestException as exc:
            transient = exc.status == 429 or exc.status >= 500
            raise SendFailed(f"twilio {exc.status} {exc.code}: {exc.msg}", transient=transient) from exc
        except requests.ConnectionError as exc:  # nothing reached Twilio
            raise SendFailed(f"network: {type(exc).__name__}", transient=True) from exc
        except requests.RequestException as exc:  # e.g. a timeout after the request left: Twilio may have it
            raise SendFailed(f"network: {type(exc).__name__}", transient=True, maybe_sent=True) from exc
        return Sent(sid=sent.sid, segments=_segments(sent.num_segments))

    def find_sent(self, message: PhoneMessage, since: dt.datetime) -> Sent | None:
        """Twilio's messages to this number from ours, newest first, created since `since` (less a minute of
        clock difference), with the same body (a template's rendered body is not ours to compare: any)."""
        params = self.params(message)
        try:
            listed = self.client.messages.list(to=params["to"], from_=params["from_"], limit=FIND_SENT_LIMIT)
        except TwilioRestException as exc:
            raise SendFailed(f"twilio lookup {exc.status} {exc.code}", transient=True, maybe_sent=True) from exc
        except requests.RequestException as exc:
            raise SendFailed(f"twilio lookup network: {type(exc).__name__}", transient=True, maybe_sent=True) from exc
        after = since - dt.timedelta(minutes=1)
        for candidate in listed:
            created = candidate.date_created
            if created is not None and created >= after and (message.content_sid or candidate.body == message.body):
                return Sent(sid=candidate.sid, segments=_segments(candidate.num_segments))
        return None


# How many of Twilio's latest messages to a number are searched for one that may have been sent.
FIND_SENT_LIMIT = 50


def _segments(value: object) -> int | None:
    return int(str(value)) if value is not None and str(value).isdigit() else None

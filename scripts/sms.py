"""Text the assistant from a terminal, as a debtor would by SMS or WhatsApp, through the fake Twilio.

The message goes in the way Twilio would deliver it (a signed webhook, via the fake's `/_fake/inbound`),
and the replies are read from what the api sent back through Twilio's API, so the whole channel is
exercised, not a shortcut. Needs the api and `python scripts/fake_twilio.py` running.

    python scripts/sms.py --from +33612345678 "bonjour"
    python scripts/sms.py --whatsapp --from +33612345678 "je peux payer 30 euros par mois"
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # started as `python scripts/sms.py`
    sys.path.insert(0, str(ROOT))

from scripts.fake_twilio import FakeTwilioSettings  # noqa: E402

DEFAULT_DEBTOR_NUMBER = "+33612345678"
POLL_SECONDS = 0.5
# A bot turn may answer in several messages; once one has arrived, this much silence means it is done.
QUIET_SECONDS = 3.0


def default_fake_url() -> str:
    settings = FakeTwilioSettings()
    host = "127.0.0.1" if settings.host in ("0.0.0.0", "::", "") else settings.host
    return f"http://{host}:{settings.port}"


def plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def debtor_address(number: str, whatsapp: bool) -> str:
    """The address the api replies to: WhatsApp replies go to "whatsapp:+33…", SMS to the bare number."""
    bare = number.removeprefix("whatsapp:")
    return f"whatsapp:{bare}" if whatsapp else bare


def send_and_follow(
    fake_url: str,
    sender: str,
    body: str,
    *,
    whatsapp: bool = False,
    to: str | None = None,
    wait_seconds: float = 20.0,
    quiet_seconds: float = QUIET_SECONDS,
    out: Callable[[str], None] = print,
) -> int:
    """Send one debtor message and print the replies; the exit code says whether the webhook accepted it."""
    address = debtor_address(sender, whatsapp)
    with httpx.Client(base_url=fake_url.rstrip("/"), timeout=30) as fake:
        try:
            seen = {message["sid"] for message in fake.get("/_fake/messages", params={"to": address}).json()}
        except httpx.HTTPError:
            out(f"The fake Twilio does not answer at {fake_url}: start it with `python scripts/fake_twilio.py`.")
            return 1

        payload = {"channel": "whatsapp" if whatsapp else "sms", "from": sender, "body": body}
        if to:
            payload["to"] = to
        result = fake.post("/_fake/inbound", json=payload).json()
        status = result.get("status_code")
        if status is None:
            out(f"webhook {result.get('url')}: not delivered ({result.get('error')}). Is the api running?")
            return 1
        out(f"webhook {result.get('url')}: HTTP {status}")
        if not 200 <= status < 300:
            out((result.get("body") or "")[:500])
            return 1

        deadline = time.monotonic() + wait_seconds
        last_new: float | None = None
        while time.monotonic() < deadline:
            if last_new is not None and time.monotonic() - last_new >= quiet_seconds:
                break
            for message in fake.get("/_fake/messages", params={"to": address}).json():
                if message["sid"] in seen:
                    continue
                seen.add(message["sid"])
                last_new = time.monotonic()
                text = message["body"] or f"(template {message.get('content_sid')})"
                out(f"< {text}")
                out(f"  [{plural(message['num_segments'], 'segment')}, {message['encoding']}]")
            time.sleep(POLL_SECONDS)
        if last_new is None:
            out(f"no reply yet after {wait_seconds:g} s (replies keep arriving in GET {fake_url}/_fake/messages)")
        return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Text the assistant as a debtor, through the fake Twilio.")
    parser.add_argument("body", help="the debtor's message")
    parser.add_argument("--from", dest="sender", default=DEFAULT_DEBTOR_NUMBER, help="the debtor's number (E.164)")
    parser.add_argument("--whatsapp", action="store_true", help="send by WhatsApp instead of SMS")
    parser.add_argument("--to", help="the creditor's number (default: the fake's SMS or WhatsApp number)")
    parser.add_argument("--fake", help="the fake Twilio's URL (default http://127.0.0.1:$FAKE_TWILIO_PORT)")
    parser.add_argument("--wait", type=float, default=20.0, help="seconds to wait for a reply (default 20)")
    args = parser.parse_args(argv)
    fake_url = args.fake or default_fake_url()
    return send_and_follow(fake_url, args.sender, args.body, whatsapp=args.whatsapp, to=args.to, wait_seconds=args.wait)


if __name__ == "__main__":
    sys.exit(main())

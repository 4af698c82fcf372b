"""The fake Twilio speaks what the twilio library and Twilio's webhooks speak: what passes here holds against Twilio."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from hypothesis import given
from hypothesis import strategies as st
from twilio.base.exceptions import TwilioRestException
from twilio.request_validator import RequestValidator
from twilio.rest import Client

from channels.twilio.sender import RedirectingHttpClient
from scripts.fake_twilio import GSM7_BASIC, GSM7_EXTENSION, FakeTwilioSettings, count_segments, create_app
from scripts.sms import send_and_follow

ACCOUNT_SID = "AC" + "1234567890abcdef" * 2
AUTH_TOKEN = "test-twilio-auth-token"
DEBTOR = "+33612345678"
CREDITOR_NUMBER = "+33700000001"


# --- Fixtures: the fake on a real port, and a tiny webhook receiver ------------------------------------


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    form: dict[str, str]


@dataclass
class Receiver:
    """Stands in for the api: records every webhook Twilio would deliver, answers with `reply`."""

    base_url: str
    requests: list[Received] = field(default_factory=list)
    reply: str = ""
    status: int = 200
    arrived: threading.Condition = field(default_factory=threading.Condition)

    def wait_for(self, count: int, timeout: float = 10) -> list[Received]:
        with self.arrived:
            if not self.arrived.wait_for(lambda: len(self.requests) >= count, timeout=timeout):
                raise AssertionError(f"{count} requests expected, {len(self.requests)} arrived")
            return list(self.requests)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state: dict[str, Receiver] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", 0))
            form = dict(parse_qsl(self.rfile.read(length).decode(), keep_blank_values=True))
            this = state["receiver"]
            body = this.reply.encode()
            self.send_response(this.status)
            self.send_header("Content-Type", "text/xml" if body else "text/plain")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            with this.arrived:
                this.requests.append(Received(self.path, dict(self.headers), form))
                this.arrived.notify_all()

        def log_message(self, *args: Any) -> None:  # keep test output clean
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state["receiver"] = Receiver(base_url=f"http://127.0.0.1:{server.server_address[1]}")
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield state["receiver"]
    server.shutdown()
    thread.join()


@pytest.fixture
def fake_app(receiver: Receiver) -> FastAPI:
    settings = FakeTwilioSettings(
        account_sid=ACCOUNT_SID,
        auth_token=AUTH_TOKEN,
        webhook_base=receiver.base_url,
        sms_number=CREDITOR_NUMBER,
        callback_delay_seconds=0.0,
    )
    return create_app(settings)


@pytest.fixture
def fake_url(fake_app: FastAPI) -> Iterator[str]:
    server = uvicorn.Server(uvicorn.Config(fake_app, host="127.0.0.1", port=0, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:  # readiness: uvicorn sets `started` once the socket listens
        assert time.monotonic() < deadline, "the fake Twilio did not start"
        time.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    yield f"http://127.0.0.1:{port}"
    settle(fake_app)
    server.should_exit = True
    thread.join()


@pytest.fixture
def twilio(fake_url: str) -> Client:
    return Client(ACCOUNT_SID, AUTH_TOKEN, http_client=RedirectingHttpClient(fake_url))


@pytest.fixture
def fake(fake_url: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=fake_url, timeout=10) as client:
        yield client


def wait_until(condition: Any, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.02)


def settle(fake_app: FastAPI) -> None:
    """Wait for the status callbacks still in flight, so none outlives (or logs outside) its test."""
    wait_until(lambda: not fake_app.state.fake.background)


# --- Sending through the twilio library ----------------------------------------------------------------


def test_the_twilio_library_sends_a_message_and_gets_twilios_message_resource(twilio: Client, fake: httpx.Client) -> None:
    message = twilio.messages.create(to=DEBTOR, from_=CREDITOR_NUMBER, body="Bonjour Marie")

    assert message.sid.startswith("SM") and len(message.sid) == 34
    assert message.status == "queued"
    assert message.num_segments == "1"
    assert message.num_media == "0"
    assert message.direction == "outbound-api"
    assert message.account_sid == ACCOUNT_SID
    assert (message.to, message.from_, message.body) == (DEBTOR, CREDITOR_NUMBER, "Bonjour Marie")
    assert message.date_created is not None and message.date_sent is None and message.price is None
    assert message.uri == f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages/{message.sid}.json"

    [recorded] = fake.get("/_fake/messages", params={"to": DEBTOR}).json()
    assert recorded["sid"] == message.sid
    assert recorded["body"] == "Bonjour Marie"
    assert recorded["auth_user"] == ACCOUNT_SID
    assert (recorded["num_segments"], recorded["encoding"]) == (1, "GSM-7")


def test_template_fields_are_recorded_as_sent(twilio: Client, fake: httpx.Client) -> None:
    twilio.messages.create(
        to=f"whatsapp:{DEBTOR}",
        from_="whatsapp:+33700000002",
        content_sid="HX" + "0" * 32,
        content_variables='{"1": "380,00 €"}',
    )

    [recorded] = fake.get("/_fake/messages", params={"to": f"whatsapp:{DEBTOR}"}).json()
    assert recorded["content_sid"] == "HX" + "0" * 32
    assert recorded["content_variables"] == '{"1": "380,00 €"}'
    assert fake.get("/_fake/messages", params={"to": "+44000000000"}).json() == []


def test_a_wrong_auth_token_is_refused_with_401(fake_url: str) -> None:
    intruder = Client(ACCOUNT_SID, "not-the-token", http_client=RedirectingHttpClient(fake_url))

    with pytest.raises(TwilioRestException) as refused:
        intruder.messages.create(to=DEBTOR, from_=CREDITOR_NUMBER, body="x")

    assert refused.value.status == 401
    assert refused.value.code == 20003


def test_another_account_in_the_path_is_not_found(fake: httpx.Client) -> None:
    other = "AC" + "f" * 32
    response = fake.post(
        f"/2010-04-01/Accounts/{other}/Messages.json", data={"To": DEBTOR, "Body": "x"}, auth=(ACCOUNT_SID, AUTH_TOKEN)
    )

    assert response.status_code == 404
    assert response.json()["code"] == 20404


@pytest.mark.parametrize(
    ("form", "code"),
    [
        ({"To": DEBTOR, "From": CREDITOR_NUMBER}, 21602),
        ({"Body": "x", "From": CREDITOR_NUMBER}, 21604),
        ({"To": " 33612345678", "Body": "x"}, 21211),  # a "+" that was not form-encoded
    ],
)
def test_a_message_without_body_or_with_a_bad_recipient_is_refused_with_twilios_error(
    fake: httpx.Client, form: dict[str, str], code: int
) -> None:
    response = fake.post(f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json", data=form, auth=(ACCOUNT_SID, AUTH_TOKEN))

    assert response.status_code == 400
    assert response.json()["code"] == code
    assert set(response.json()) == {"code", "message", "more_info", "status"}
    assert fake.get("/_fake/messages").json() == []


def test_injected_failures_refuse_the_next_requests_then_sending_works_again(twilio: Client, fake: httpx.Client) -> None:
    fake.post("/_fake/failures", json={"count": 2, "status": 500})
    assert fake.get("/_fake/failures").json()["remaining"] == 2

    for _ in range(2):
        with pytest.raises(TwilioRestException) as refused:
            twilio.messages.create(to=DEBTOR, from_=CREDITOR_NUMBER, body="x")
        assert (refused.value.status, refused.value.code) == (500, 20500)
    assert fake.get("/_fake/messages").json() == []
    assert fake.get("/_fake/failures").json()["remaining"] == 0

    assert twilio.messages.create(to=DEBTOR, from_=CREDITOR_NUMBER, body="x").status == "queued"


def test_a_rate_limit_is_reported_with_twilios_429_code(twilio: Client, fake: httpx.Client) -> None:
    fake.post("/_fake/failures", json={"count": 1, "status": 429})

    with pytest.raises(TwilioRestException) as refused:
        twilio.messages.create(to=DEBTOR, from_=CREDITOR_NUMBER, body="x")

    assert (refused.value.status, refused.value.code) == (429, 20429)


# --- Segments -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a" * 160, (1, "GSM-7")),
        ("a" * 161, (2, "GSM-7")),
        ("a" * 306, (2, "GSM-7")),
        ("a" * 307, (3, "GSM-7")),
        ("é" * 160, (1, "GSM-7")),  # é is in the GSM 03.38 basic set
        ("€" * 80, (1, "GSM-7")),  # extension characters take two septets
        ("€" * 81, (2, "GSM-7")),
        ("a" * 152 + "€" + "a" * 152, (3, "GSM-7")),  # an escape pair is never split across two parts
        ("ê" * 70, (1, "UCS-2")),  # ê is not: the whole message goes UCS-2
        ("ê" * 71, (2, "UCS-2")),
        ("ê" * 134, (2, "UCS-2")),
        ("ê" * 135, (3, "UCS-2")),
        ("😀" * 35, (1, "UCS-2")),  # two UTF-16 code units each
        ("😀" * 36, (2, "UCS-2")),
        ("", (1, "GSM-7")),
    ],
)
def test_segments_are_counted_like_twilio_bills_them(text: str, expected: tuple[int, str]) -> None:
    assert count_segments(text) == expected


@given(st.text(alphabet=sorted(GSM7_BASIC | GSM7_EXTENSION), max_size=1000))
def test_gsm7_text_fits_one_segment_exactly_when_it_has_at_most_160_septets(text: str) -> None:
    septets = sum(2 if ch in GSM7_EXTENSION else 1 for ch in text)
    segments, encoding = count_segments(text)

    assert encoding == "GSM-7"
    assert (segments == 1) == (septets <= 160)
    if segments > 1:
        assert septets <= segments * 153 < septets + 2 * 153  # at most one part lost to escape pairs


@pytest.mark.parametrize(
    ("body", "segments"), [("é" * 160, "1"), ("a" * 161, "2"), ("ê" * 70, "1"), ("ê" * 71, "2"), ("€" * 81, "2")]
)
def test_the_message_resource_reports_the_segment_count(twilio: Client, body: str, segments: str) -> None:
    assert twilio.messages.create(to=DEBTOR, from_=CREDITOR_NUMBER, body=body).num_segments == segments


# --- Status callbacks -----------------------------------------------------------------------------------


def callback_url(receiver: Receiver) -> str:
    return f"{receiver.base_url}/channels/twilio/status"


def assert_signed_by_twilio(request: Received, url: str) -> None:
    signature = request.headers["X-Twilio-Signature"]
    assert RequestValidator(AUTH_TOKEN).validate(url, request.form, signature)
    assert not RequestValidator("another-token").validate(url, request.form, signature)


def test_status_callbacks_report_sent_then_delivered_signed_like_twilio(
    twilio: Client, receiver: Receiver, fake: httpx.Client, fake_app: FastAPI
) -> None:
    message = twilio.messages.create(to=DEBTOR, from_=CREDITOR_NUMBER, body="Bonjour", status_callback=callback_url(receiver))

    sent, delivered = receiver.wait_for(2)

    assert [sent.form["MessageStatus"], delivered.form["MessageStatus"]] == ["sent", "delivered"]
    for callback in (sent, delivered):
        assert_signed_by_twilio(callback, callback_url(receiver))
        assert callback.form["MessageSid"] == callback.form["SmsSid"] == message.sid
        assert callback.form["SmsStatus"] == callback.form["MessageStatus"]
        assert callback.form["AccountSid"] == ACCOUNT_SID
        assert (callback.form["From"], callback.form["To"]) == (CREDITOR_NUMBER, DEBTOR)
        assert callback.form["ApiVersion"] == "2010-04-01"
        assert "ErrorCode" not in callback.form
    settle(fake_app)
    assert fake.get("/_fake/messages").json()[0]["status"] == "delivered"


@pytest.mark.parametrize(("final", "error_code"), [("undelivered", "30003"), ("failed", "30008")])
def test_a_number_registered_as_failing_ends_with_that_status_and_twilios_error_code(
    twilio: Client, receiver: Receiver, fake: httpx.Client, fake_app: FastAPI, final: str, error_code: str
) -> None:
    fake.post("/_fake/undeliverable", json={"to": DEBTOR, "status": final})

    twilio.messages.create(
        to=f"whatsapp:{DEBTOR}", from_="whatsapp:+33700000002", body="x", status_callback=callback_url(receiver)
    )

    sent, last = receiver.wait_for(2)
    assert sent.form["MessageStatus"] == "sent"
    assert (last.form["MessageStatus"], last.form["ErrorCode"]) == (final, error_code)
    assert_signed_by_twilio(last, callback_url(receiver))
    settle(fake_app)


def test_an_unreachable_status_callback_does_not_stop_the_fake(twilio: Client, fake: httpx.Client, fake_app: FastAPI) -> None:
    twilio.messages.create(to=DEBTOR, from_=CREDITOR_NUMBER, body="x", status_callback="http://127.0.0.1:9/nowhere")

    settle(fake_app)
    assert fake.get("/_fake/messages").json()[0]["status"] == "delivered"
    assert fake.get("/_fake/health").json() == {"status": "ok"}


# --- Inbound messages -----------------------------------------------------------------------------------


def test_an_inbound_sms_reaches_the_webhook_signed_for_its_url(fake: httpx.Client, receiver: Receiver) -> None:
    result = fake.post("/_fake/inbound", json={"channel": "sms", "from": DEBTOR, "body": "bonjour"}).json()

    [request] = receiver.wait_for(1)
    assert request.path == "/channels/twilio/sms"
    assert request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert_signed_by_twilio(request, f"{receiver.base_url}/channels/twilio/sms")
    assert result["status_code"] == 200
    assert result["message_sid"] == request.form["MessageSid"]
    assert request.form["MessageSid"] == request.form["SmsMessageSid"] == request.form["SmsSid"]
    assert request.form["MessageSid"].startswith("SM")
    described = ("AccountSid", "From", "To", "Body", "NumMedia", "NumSegments", "SmsStatus", "ApiVersion")
    assert {key: request.form[key] for key in described} == {
        "AccountSid": ACCOUNT_SID,
        "From": DEBTOR,
        "To": CREDITOR_NUMBER,
        "Body": "bonjour",
        "NumMedia": "0",
        "NumSegments": "1",
        "SmsStatus": "received",
        "ApiVersion": "2010-04-01",
    }
    assert (request.form["FromCountry"], request.form["ToCountry"]) == ("FR", "FR")
    assert "MessagingServiceSid" not in request.form and "WaId" not in request.form


def test_an_inbound_whatsapp_message_carries_whatsapp_addresses_and_profile(fake: httpx.Client, receiver: Receiver) -> None:
    url = f"{receiver.base_url}/hooks/whatsapp?tenant=demo"
    result = fake.post(
        "/_fake/inbound",
        json={
            "channel": "whatsapp",
            "from": "+447700900123",
            "to": "+447700900000",
            "body": "I lost my job",
            "message_sid": "SM" + "a" * 32,
            "url": url,
        },
    ).json()

    [request] = receiver.wait_for(1)
    assert request.path == "/hooks/whatsapp?tenant=demo"
    assert_signed_by_twilio(request, url)
    assert result["message_sid"] == request.form["MessageSid"] == "SM" + "a" * 32
    assert (request.form["From"], request.form["To"]) == ("whatsapp:+447700900123", "whatsapp:+447700900000")
    assert (request.form["ProfileName"], request.form["WaId"]) == ("Debtor", "447700900123")
    assert (request.form["FromCountry"], request.form["ToCountry"]) == ("GB", "GB")


def test_an_unreachable_webhook_is_reported_not_raised(fake: httpx.Client) -> None:
    response = fake.post("/_fake/inbound", json={"from": DEBTOR, "body": "x", "url": "http://127.0.0.1:9/nowhere"})

    assert response.status_code == 502
    assert response.json()["status_code"] is None


def test_a_twiml_reply_is_sent_back_to_the_debtor_like_twilio_does(fake: httpx.Client, receiver: Receiver) -> None:
    receiver.reply = "<?xml version='1.0' encoding='UTF-8'?><Response><Message>Bonjour ! Votre référence ?</Message></Response>"

    fake.post("/_fake/inbound", json={"from": DEBTOR, "body": "bonjour"})

    [reply] = fake.get("/_fake/messages", params={"to": DEBTOR}).json()
    assert reply["body"] == "Bonjour ! Votre référence ?"
    assert (reply["from"], reply["source"]) == (CREDITOR_NUMBER, "twiml")


# --- The sms command ------------------------------------------------------------------------------------


def test_the_sms_command_prints_the_webhook_status_and_only_new_replies(
    fake_url: str, fake: httpx.Client, receiver: Receiver
) -> None:
    receiver.reply = "<Response><Message>Une ancienne réponse</Message></Response>"
    fake.post("/_fake/inbound", json={"channel": "whatsapp", "from": DEBTOR, "body": "avant"})
    reply = "Bonjour, c'est l'assistant. Quelle est votre référence ?"
    receiver.reply = f"<Response><Message>{reply}</Message></Response>"
    lines: list[str] = []

    exit_code = send_and_follow(fake_url, DEBTOR, "bonjour", whatsapp=True, wait_seconds=5, quiet_seconds=0.2, out=lines.append)

    assert exit_code == 0
    assert lines[0].endswith("/channels/twilio/whatsapp: HTTP 200")
    assert lines[1:] == [f"< {reply}", "  [1 segment, GSM-7]"]


def test_the_sms_command_says_when_no_reply_came(fake_url: str, receiver: Receiver) -> None:
    lines: list[str] = []

    exit_code = send_and_follow(fake_url, DEBTOR, "bonjour", wait_seconds=0.3, out=lines.append)

    assert exit_code == 0
    assert lines[-1].startswith("no reply yet")


def test_the_sms_command_fails_when_the_webhook_refuses(fake_url: str, receiver: Receiver) -> None:
    receiver.status = 403
    lines: list[str] = []

    exit_code = send_and_follow(fake_url, DEBTOR, "bonjour", wait_seconds=0.3, out=lines.append)

    assert exit_code == 1
    assert lines[0].endswith("HTTP 403")


def test_the_sms_command_says_how_to_start_a_missing_fake() -> None:
    lines: list[str] = []

    exit_code = send_and_follow("http://127.0.0.1:9", DEBTOR, "bonjour", out=lines.append)

    assert exit_code == 1
    assert "python scripts/fake_twilio.py" in lines[0]


def test_the_twilio_library_lists_the_messages_sent_to_a_number_newest_first(twilio: Client) -> None:
    """What the outbox asks Twilio before sending again a message that may have left (TwilioSender.find_sent)."""
    for body in ("first", "second"):
        twilio.messages.create(to=DEBTOR, from_=CREDITOR_NUMBER, body=body)
    twilio.messages.create(to="+33698765432", from_=CREDITOR_NUMBER, body="someone else")
    listed = twilio.messages.list(to=DEBTOR, from_=CREDITOR_NUMBER, limit=50)
    assert [m.body for m in listed] == ["second", "first"]
    assert all(m.date_created is not None and m.sid.startswith("SM") for m in listed)


def test_the_outbox_finds_at_twilio_a_message_that_may_have_left(fake_url: str) -> None:
    """TwilioSender.find_sent, against what the twilio library reads: the same body to the same number since
    the claim is found; another body, or one sent before the claim, is not."""
    import datetime as dt

    from api.core.config import Settings
    from api.services.outbox import PhoneMessage
    from channels.twilio.sender import TwilioSender

    settings = Settings(
        twilio_api_base_url=fake_url,
        twilio_account_sid=ACCOUNT_SID,
        twilio_auth_token=AUTH_TOKEN,
        twilio_sms_number=CREDITOR_NUMBER,
    )
    sender = TwilioSender(settings)
    claimed = dt.datetime.now(dt.UTC)
    sent = sender.send(PhoneMessage(channel="sms", to=DEBTOR, body="Votre échéance du 5"))
    assert sender.find_sent(PhoneMessage(channel="sms", to=DEBTOR, body="Votre échéance du 5"), claimed) == sent
    assert sender.find_sent(PhoneMessage(channel="sms", to=DEBTOR, body="Autre chose"), claimed) is None
    later = claimed + dt.timedelta(minutes=5)
    assert sender.find_sent(PhoneMessage(channel="sms", to=DEBTOR, body="Votre échéance du 5"), later) is None

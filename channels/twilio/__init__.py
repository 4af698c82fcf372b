"""SMS and WhatsApp through Twilio: the signed webhooks (the door in) and the sender the outbox uses (out)."""

from channels.twilio.sender import TwilioSender
from channels.twilio.webhooks import pending_tasks, router

__all__ = ["TwilioSender", "pending_tasks", "router"]

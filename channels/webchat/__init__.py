"""The web chat: the rasa-webchat socket.io protocol (the door in and out) and the demo page that embeds it."""

from channels.webchat.page import router
from channels.webchat.socket import WebChatTransport, create_webchat_server, session_address

__all__ = ["WebChatTransport", "create_webchat_server", "router", "session_address"]

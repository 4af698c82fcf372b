"""The doors: each channel receives from its door and delivers replies to an address.

A channel stores the debtor's message through the services (`api.services.router`), and implements the
services' `Transport` (`api/services/transport.py`) to deliver what they wrote. Channels import the
services; the services never import a channel: transports and senders are injected at start-up
(`api/main.py`).
"""

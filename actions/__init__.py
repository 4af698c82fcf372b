"""Rasa SDK custom actions. Thin: they read and record everything through the api over HTTP."""

"""The caseworker app: login, inbox, live chat, callbacks (served by the front door)."""

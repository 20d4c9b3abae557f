"""Handoff to a caseworker: opening hours, cases, inbox, live chat, retention."""

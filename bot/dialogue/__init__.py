"""What the assistant says: pure functions from facts to bot messages.

The Rasa custom actions in actions/ are thin wrappers around this package, so
the wording and the rules behind it are tested without Rasa.
"""

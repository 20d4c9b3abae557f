"""Rasa custom actions. Thin wrappers around bot/; the action server imports
every module of this package."""

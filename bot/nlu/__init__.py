"""Additions to Rasa's NLU pipeline (loaded by Rasa, see config.yml)."""

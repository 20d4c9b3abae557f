"""The tracker's slots by name: the one definition, which tests/test_slots.py
holds against domain.yml."""

from __future__ import annotations

# What the conversation knows.
MUNICIPALITY = "municipality"
AUDIENCE = "audience"
#: A question asked before the municipality was known; answered once it is.
PENDING_QUESTION = "pending_question"
FALLBACK_STREAK = "fallback_streak"
#: The subject: the last answer's article, and the question it was for.
LAST_ARTICLE = "last_article_id"
LAST_QUESTION = "last_question"
ANSWER_HELPFUL = "answer_helpful"
# The handoff: the offer, why, and the form's answers.
HANDOFF_OFFERED = "handoff_offered"
HANDOFF_REASON = "handoff_reason"
HANDOFF_CHANNEL = "handoff_channel"
CONTACT_NAME = "contact_name"
CONTACT_INFO = "contact_info"
HANDOFF_DESCRIPTION = "handoff_description"
#: The form's own answers (the municipality is kept when the form ends).
HANDOFF_FORM = (HANDOFF_CHANNEL, CONTACT_NAME, CONTACT_INFO, HANDOFF_DESCRIPTION)

# Rasa's own slots.
REQUESTED_SLOT = "requested_slot"
SESSION_METADATA = "session_started_metadata"
RASA_SLOTS = (REQUESTED_SLOT, SESSION_METADATA)

"""Insight for the people who run the assistant: a record of every bot turn
and its feedback (records.py, written by recorder.py off the turn's path),
the figures for a period and municipality (report.py), unanswered questions
grouped by the knowledge engine's stems (grouping.py), and the maintenance
switch that closes the chat (maintenance.py)."""

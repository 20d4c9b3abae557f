"""How long the connections from Rasa to the action server stay open when
idle. Shared by both sides (and importable in either environment): the
client closes an idle connection before the server does, so Rasa never
sends a call on a connection the action server is closing at that moment.
"""

#: Seconds the action server keeps an idle connection from Rasa open.
ACTION_SERVER_SECONDS = 75
#: Seconds Rasa keeps an idle connection to the action server in its pool.
RASA_CLIENT_SECONDS = 60

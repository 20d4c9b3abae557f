"""How long idle kept-alive connections stay open, on both sides of each
hop (importable in either environment). The client of a hop closes an
idle connection before its server does, so it never sends a request on a
connection the server is closing at that moment: a POST lost that way
fails (measured: an aiohttp client after uvicorn's 5 s default).
"""

#: Seconds the action server keeps an idle connection from Rasa open.
ACTION_SERVER_SECONDS = 75
#: Seconds Rasa keeps an idle connection to the action server in its pool.
RASA_CLIENT_SECONDS = 60
#: Seconds the front door (uvicorn) keeps an idle connection open; longer
#: than the reverse proxy keeps its upstream connections
#: (`keepalive_timeout` in deploy/nginx/jobcenter.conf, 60 s) and than
#: aiohttp and browsers keep theirs (15 s and less).
FRONT_DOOR_SECONDS = 75

"""Start `rasa run` with its API token taken from the environment.

    .venv-rasa/bin/python -m bot.rasa_server --model models/x.tar.gz --port 5005 ...

Runs in Rasa's environment. Every argument is passed on to `rasa run`; the
token (RASA_TOKEN) is added inside this process, so it never appears in the
process list (/proc/PID/cmdline is readable by every local user, the
environment only by the owner). `--auth-token=<token>` keeps a token that
begins with "-" from being read as an option.
"""

from __future__ import annotations

import os
import sys

from rasa.__main__ import main

if __name__ == "__main__":
    token = os.environ.get("RASA_TOKEN", "")
    if not token:
        sys.exit("RASA_TOKEN must be set: the front door and Rasa share it.")
    sys.argv = ["rasa", "run", *sys.argv[1:], "--enable-api", f"--auth-token={token}"]
    main()

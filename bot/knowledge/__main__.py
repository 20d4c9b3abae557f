"""Command line for the knowledge base.

python -m bot.knowledge validate
python -m bot.knowledge index
python -m bot.knowledge stats
python -m bot.knowledge nlu-examples
python -m bot.knowledge ask "Hvad er et fleksjob?" --municipality gladsaxe [--audience virksomhed]
"""

from __future__ import annotations

import argparse
import sys

from bot.knowledge.cli import ask, index, stats, validate_command, write_nlu_examples
from bot.settings import get_settings
from bot.taxonomy import Audience, Municipality


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot.knowledge", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("validate", help="check every article and the source index")
    commands.add_parser("index", help="rewrite the section index in sources.yml")
    commands.add_parser("stats", help="print the coverage table topic x municipality")
    commands.add_parser("nlu-examples", help="rewrite data/nlu/knowledge_questions.yml from the articles' questions")
    ask_parser = commands.add_parser("ask", help="rank the articles for a question")
    ask_parser.add_argument("question")
    ask_parser.add_argument("--municipality", required=True, choices=[m.value for m in Municipality])
    ask_parser.add_argument("--audience", choices=[a.value for a in Audience])
    args = parser.parse_args(argv)

    directory = get_settings().knowledge_dir
    if args.command == "validate":
        return validate_command(directory)
    if args.command == "index":
        return index(directory)
    if args.command == "stats":
        return stats(directory)
    if args.command == "nlu-examples":
        return write_nlu_examples(directory)
    audience = Audience(args.audience) if args.audience else None
    return ask(directory, args.question, Municipality(args.municipality), audience)


if __name__ == "__main__":
    sys.exit(main())

"""The `achilles-coach` command line.

    achilles-coach                     the bot on Telegram if a token is set, else a terminal chat
    achilles-coach run [--webhook URL] the bot on Telegram (long polling, or a webhook)
    achilles-coach chat                the conversation in this terminal
    achilles-coach triage --answers F  the assessment of a runner's answers, as JSON
    achilles-coach plan --answers F    today's plan for those answers
    achilles-coach diagram             write the conversation's state machine to docs/
    achilles-coach programme           write twelve simulated weeks of the programme to docs/
    achilles-coach challenge create|list|export   clinic challenge groups, for clinic staff

FILE may be `-` for standard input. Bad answers: exit status 2, one line per bad field on stderr.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import logging
import signal
import sys
from datetime import UTC, date, datetime
from pathlib import Path

from pydantic import ValidationError
from telegram.error import InvalidToken

from bot import programme
from bot.config import Settings, SettingsError, load_settings
from bot.telegram_app import build_application, serve
from bot.terminal import chat
from conversations.answers import Answers, contract_json, describe_errors, parse_answers
from conversations.challenges import Challenge, ChallengeFormError, challenge_from_form, csv_export
from conversations.clinic import ClinicError, load_clinic
from conversations.clinic_desk import export_data
from conversations.engine import Engine
from conversations.flow import mermaid_diagram
from conversations.messages import DEFAULT_LANGUAGE, LANGUAGES, html_to_text, render, template_module
from conversations.plan import plan_for_answers
from conversations.protocol import DEFAULT_PROTOCOL, Protocol, ProtocolError, load_protocol
from conversations.triage import assess
from storage import open_store
from storage.atomic import CorruptFile

DIAGRAM = Path(__file__).resolve().parent.parent / "docs" / "conversation.mmd"
TERMINAL_RUNNER_ID = 1  # the one runner of a local terminal chat

EXIT_BAD_INPUT = 2


class BadInput(Exception):
    """Input a person can fix; the message says what to fix."""


def read_answers(source: str) -> Answers:
    try:
        text = sys.stdin.read() if source == "-" else Path(source).read_text(encoding="utf-8")
    except OSError as error:
        raise BadInput(f"answers: cannot read {source}: {error.strerror}") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise BadInput(f"answers: not valid JSON ({error})") from None
    try:
        return parse_answers(data)
    except ValidationError as error:
        raise BadInput("\n".join(describe_errors(error))) from None


def iso_date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a date like 2026-03-30") from None


def positive_week(text: str) -> int:
    if not text.isdecimal() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"'{text}' is not a week number (1 or more)")
    return int(text)


def triage_command(args: argparse.Namespace, protocol: Protocol) -> int:
    assessment = assess(read_answers(args.answers))
    print(json.dumps(contract_json(assessment, args.lang), indent=2, ensure_ascii=False))
    return 0


def plan_command(args: argparse.Namespace, protocol: Protocol) -> int:
    answers = read_answers(args.answers)
    assessment, plan = plan_for_answers(answers, on=args.date, week=args.week, protocol=protocol)
    if args.json:
        output = {"assessment": contract_json(assessment, args.lang),
                  "plan": plan_json(plan, args.lang) if plan else None}
        print(json.dumps(output, indent=2, ensure_ascii=False))
    elif plan is None:
        print(html_to_text(render("triage/no_plan.j2", lang=args.lang, assessment=assessment)))
    else:
        print(html_to_text(render("plan/today.j2", lang=args.lang, plan=plan)))
    return 0


def plan_json(plan, lang: str) -> dict:
    """The plan as data, each exercise with its dose written out as the runner reads it."""
    data = plan.as_json()
    dose = template_module("plan/_dose.j2", lang).dose
    for exercise, planned in zip(data["exercises"], plan.exercises, strict=True):
        exercise["dose"] = str(dose(planned))
    return data


def build_engine(settings: Settings, protocol: Protocol) -> Engine:
    try:
        clinic = load_clinic(settings.clinic_file)
    except ClinicError as error:
        raise BadInput(f"achilles-coach cannot start: the clinic file has problems.\n{error}") from None
    return Engine(open_store(settings.data_dir), clinic, protocol, now=lambda: datetime.now(UTC))


def configure_logging() -> None:
    logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s: %(message)s", level=logging.INFO)
    logging.getLogger("transitions").setLevel(logging.WARNING)


def run_command(args: argparse.Namespace, protocol: Protocol) -> int:
    settings = load_settings()
    if settings.token is None:
        raise BadInput("TELEGRAM_BOT_TOKEN is not set: put it in the environment or a .env file.")
    engine = build_engine(settings, protocol)
    configure_logging()
    application = build_application(settings.token.get_secret_value(), settings.base_url, engine,
                                    chat_pace=settings.chat_pace)
    # What start-up built (modules, templates, the protocol) lives as long as the process: a full
    # collection then skips it, which took pauses of 60 ms under load to a few.
    gc.freeze()
    try:
        asyncio.run(until_stopped(serve(application, webhook=args.webhook, listen=settings.webhook_listen,
                                        port=settings.webhook_port, secret=settings.webhook_secret_value)))
    except InvalidToken:
        raise BadInput("Telegram refused the token: check TELEGRAM_BOT_TOKEN (not shown here).") from None
    return 0


async def until_stopped(work) -> None:
    """Run until SIGTERM or Ctrl-C, then let `work` finish what it has received."""
    task = asyncio.ensure_future(work)
    loop = asyncio.get_running_loop()
    for stop in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(stop, task.cancel)
    with contextlib.suppress(asyncio.CancelledError):
        await task


def chat_command(args: argparse.Namespace, protocol: Protocol) -> int:
    return chat(build_engine(load_settings(), protocol), TERMINAL_RUNNER_ID, lang=args.lang)


def default_command(args: argparse.Namespace, protocol: Protocol) -> int:
    """On Telegram when a token is set, otherwise a chat in this terminal."""
    if load_settings().token is not None:
        return run_command(args, protocol)
    return chat_command(args, protocol)


def programme_command(args: argparse.Namespace, protocol: Protocol) -> int:
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(programme.document(protocol), encoding="utf-8")
    print(f"wrote {args.output}")
    return 0


def diagram_command(args: argparse.Namespace, protocol: Protocol) -> int:
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(mermaid_diagram(), encoding="utf-8")
    print(f"wrote {args.output}")
    return 0


CLI_ADMIN = 0  # challenges made at the command line, by clinic staff on the server


def clinic_today(engine: Engine) -> date:
    return engine.services.now().astimezone(engine.clinic.zone).date()


def challenge_create(args: argparse.Namespace, protocol: Protocol) -> int:
    lines = [f"name: {args.name}", f"start: {args.start}", f"weeks: {args.weeks}", f"places: {args.places}"]
    lines += [f"deadline: {args.deadline}"] if args.deadline else []
    lines += [f"session: {session}" for session in args.session]
    engine = build_engine(load_settings(), protocol)
    try:
        challenge = challenge_from_form("\n".join(lines), CLI_ADMIN, clinic_today(engine))
    except ChallengeFormError as error:
        raise BadInput(html_to_text(render("clinic/form_problems.j2", problems=error.problems))) from None
    engine.store.save_challenge(challenge.model_dump(mode="json"))
    print(f"{challenge.name}: code {challenge.code}")
    print(f"invite link: https://t.me/{args.bot_username}?start={challenge.code}")
    return 0


def challenge_list(args: argparse.Namespace, protocol: Protocol) -> int:
    engine = build_engine(load_settings(), protocol)
    for stored in sorted(engine.store.challenges(), key=lambda c: c["start"]):
        challenge = Challenge.model_validate(stored)
        print(f"{challenge.code}  {challenge.start}  {challenge.weeks} weeks  "
              f"{len(challenge.participants)}/{challenge.places} places  "
              f"{len(challenge.waitlist)} waiting  {challenge.name}")
    return 0


def challenge_export(args: argparse.Namespace, protocol: Protocol) -> int:
    engine = build_engine(load_settings(), protocol)
    stored = next((c for c in engine.store.challenges() if c["code"] == args.code), None)
    if stored is None:
        raise BadInput(f"no challenge with code {args.code}")
    challenge = Challenge.model_validate(stored)
    text = csv_export(challenge, export_data(engine.store, challenge), clinic_today(engine))
    if args.output:
        args.output.write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    return 0


def add_language(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--lang", choices=LANGUAGES, default=DEFAULT_LANGUAGE,
                        help="the language of every word shown (default: %(default)s)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="achilles-coach",
        description="A self-care companion for runners with Achilles pain.",
    )
    parser.add_argument(
        "--protocol",
        type=Path,
        default=DEFAULT_PROTOCOL,
        help="the loading protocol (TOML) to use; checked at start-up",
    )
    parser.set_defaults(handler=default_command, lang=DEFAULT_LANGUAGE)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    run = commands.add_parser("run", help="run the bot on Telegram (long polling, or a webhook)")
    run.add_argument("--webhook", metavar="URL", help="receive updates at this HTTPS URL (ends in /telegram)")
    run.set_defaults(handler=run_command, webhook=None)
    chat_parser = commands.add_parser("chat", help="chat in this terminal")
    add_language(chat_parser)
    chat_parser.set_defaults(handler=chat_command)
    diagram = commands.add_parser("diagram", help="write the conversation diagram (Mermaid)")
    diagram.add_argument("--output", type=Path, default=DIAGRAM)
    diagram.set_defaults(handler=diagram_command)
    weeks = commands.add_parser("programme", help="simulate twelve weeks of the programme (Markdown)")
    weeks.add_argument("--output", type=Path, default=programme.DOCUMENT)
    weeks.set_defaults(handler=programme_command)

    triage = commands.add_parser("triage", help="assess a runner's answers; prints JSON")
    triage.add_argument("--answers", required=True, metavar="FILE", help="JSON answers, or -")
    add_language(triage)
    triage.set_defaults(handler=triage_command)

    challenge = commands.add_parser("challenge", help="clinic challenge groups (staff)")
    actions = challenge.add_subparsers(dest="action", metavar="ACTION", required=True)
    create = actions.add_parser("create", help="create a challenge and print its invite link")
    create.add_argument("--name", required=True)
    create.add_argument("--start", required=True, type=iso_date, help="YYYY-MM-DD")
    create.add_argument("--weeks", required=True, type=positive_week)
    create.add_argument("--places", type=positive_week, default=20)
    create.add_argument("--deadline", type=iso_date, help="last day to enrol, YYYY-MM-DD")
    create.add_argument("--session", action="append", default=[],
                        help='a weekly group session: "Wed 18:30 Title [link]" (repeatable)')
    create.add_argument("--bot-username", default="achilles_coach_bot", help="for the invite link")
    create.set_defaults(handler=challenge_create)
    actions.add_parser("list", help="every challenge").set_defaults(handler=challenge_list)
    export = actions.add_parser("export", help="a challenge's check-ins as CSV")
    export.add_argument("code")
    export.add_argument("--output", type=Path, help="a file (default: standard output)")
    export.set_defaults(handler=challenge_export)

    plan = commands.add_parser("plan", help="the plan for one day")
    plan.add_argument("--answers", required=True, metavar="FILE", help="JSON answers, or -")
    plan.add_argument("--date", type=iso_date, default=date.today(), help="YYYY-MM-DD")
    plan.add_argument("--week", type=positive_week, default=1, help="week of the phase")
    plan.add_argument("--json", action="store_true", help="print JSON instead of text")
    add_language(plan)
    plan.set_defaults(handler=plan_command)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        protocol = load_protocol(args.protocol)
    except ProtocolError as error:
        print(f"achilles-coach cannot start: the protocol has problems.\n{error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    try:
        return args.handler(args, protocol)
    except (BadInput, SettingsError, CorruptFile) as error:
        print(error, file=sys.stderr)
        return EXIT_BAD_INPUT

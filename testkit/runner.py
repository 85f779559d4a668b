"""A typical runner's way through the questionnaire, shared by the tests and the benches.

Each step is ("tap", button text) or ("say", text). The answers match the 'typical-strength'
vignette: phase 2, running hold.
"""

TYPICAL_RUNNER = [
    ("tap", "None of these"),  # safety screen
    ("say", "38"),
    ("tap", "Right"),
    ("tap", "Gradually"),
    ("say", "18"),  # heel raises
    ("tap", "Skip"),  # the other leg
    ("tap", "3"),  # heel-raise pain
    ("tap", "Above the heel"),
    ("say", "6"),
    ("tap", "10-30 min"),
    ("tap", "Eases as I warm up, comes back later"),
    ("tap", "2"),  # pain now
    ("tap", "3"),  # during the last run
    ("tap", "Yes, settled"),
    ("tap", "About the same"),
    ("tap", "4"),  # hops
    ("tap", "30 km"),
    ("tap", "30 km"),
    ("tap", "None of these"),  # recent changes
    ("tap", "None yet"),
    ("tap", "About the same"),
    ("tap", "None of these"),  # other flags
]

# The reminder set-up that ends onboarding: 07:30 in London, the default strength days.
REMINDER_SETUP = [
    ("tap", "07:30"),
    ("tap", "UK, Ireland, Portugal"),
    ("tap", "Done"),
]


def onboard_in_engine(coach, runner_id: int, steps=None, *, invite: str = "", name: str = "") -> None:
    """Walk a runner through consent, `steps` (default: TYPICAL_RUNNER + REMINDER_SETUP) with the
    engine directly, no Telegram: for benches and tests that need runners already onboarded.
    With `invite` (a challenge's code), they came by its link and join it, as `name`."""
    from conversations.messages import label_text
    from conversations.replies import Event

    replies = coach.handle(runner_id, Event("command", "start", invite, name=name)).replies

    def tap(part: str) -> None:
        buttons = [button for row in replies[-1].buttons for button in row]
        data = next(button.data for button in buttons if part in label_text(button))
        replies[:] = coach.handle(runner_id, Event("button", data, name=name)).replies

    tap("I understand and agree")
    if invite:
        tap("Join and share my check-ins")
    for action, value in steps if steps is not None else TYPICAL_RUNNER + REMINDER_SETUP:
        if action == "tap":
            tap(value)
        else:
            replies[:] = coach.handle(runner_id, Event("text", value, name=name)).replies

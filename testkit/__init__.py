"""What the tests and the benches share: a simulated Telegram and ways to run the bot on it.

- `testkit.telegram`: the simulated Telegram itself (`FakeTelegram`), transport-agnostic.
- `testkit.inprocess`: python-telegram-bot's requests handed straight to it; no sockets.
- `testkit.http`: the same over real HTTP (`LocalBotApi`), for a bot in another process.
- `testkit.story`: `running_bot`, `say`, `tap`, `follow`, `seen_text` on either transport.
- `testkit.runner`, `testkit.population`: a scripted runner, and many of them on disk.
"""

from testkit.http import LocalBotApi
from testkit.telegram import BotMessage, FakeTelegram, FakeUser

__all__ = ["BotMessage", "FakeTelegram", "FakeUser", "LocalBotApi"]

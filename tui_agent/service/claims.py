"""One live writer per conversation: a tui-agent process claims the conversation it has open.

The claim is an OS file lock (`state/open-conversations/ID.lock`), held while the conversation is the current
one of a chat session and released when the session moves on or the process ends (the OS drops the lock even
after a crash, so a stale claim cannot outlive its process). A second instance that finds a conversation
claimed starts or opens another one instead of appending into it.
"""

from __future__ import annotations

from pathlib import Path

from tui_agent.errors import TuiAgentError


class ConversationBusy(TuiAgentError):
    """The conversation is open in another running tui-agent."""

    exit_code = 1


class ConversationClaims:
    """Claims on conversations, one lock file each under `directory`."""

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)
        self._held: dict[int, object] = {}

    def claim(self, conversation_id: int) -> bool:
        """Claim `conversation_id` for this process; False when another process holds it."""
        if conversation_id in self._held:
            return True
        import filelock

        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        lock = filelock.FileLock(str(self.directory / f"{conversation_id}.lock"), mode=0o600, thread_local=False)
        try:
            lock.acquire(blocking=False)
        except filelock.Timeout:
            return False
        except OSError:  # an unwritable state dir must not stop a chat: no claim, as before this existed
            return True
        self._held[conversation_id] = lock
        return True

    def release(self, conversation_id: int | None) -> None:
        lock = self._held.pop(conversation_id, None) if conversation_id is not None else None
        if lock is not None:
            lock.release()

    def release_all(self) -> None:
        for conversation_id in list(self._held):
            self.release(conversation_id)

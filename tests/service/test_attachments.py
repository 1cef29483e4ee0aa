"""Attachments in the service layer: the `@PATH` rule, `@@`, reading, caps, one-sentence refusals, and the
images stored by content hash, reopened and exported from history."""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path

import pytest

from tests.fakes import FakeOpenAI
from tests.service.test_conversation import service  # noqa: F401  (the fixture: a service over FakeOpenAI)
from tui_agent.core.events import Done
from tui_agent.service import attachments
from tui_agent.service.attachments import AttachmentError, find_tokens, prepare, read_attachment

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(64))
JPEG = b"\xff\xd8\xff\xe0" + bytes(32)
GIF = b"GIF89a" + bytes(32)
WEBP = b"RIFF\x10\x00\x00\x00WEBPVP8 " + bytes(32)


@pytest.fixture
def files(tmp_path: Path) -> Path:
    (tmp_path / "notes.md").write_text("hello\n", encoding="utf-8")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "a.py").write_text("x = 1\n", encoding="utf-8")
    (tmp_path / "blob.bin").write_bytes(b"\x00\x01\x02binary")
    (tmp_path / "latin1.txt").write_bytes("café".encode("latin-1"))
    return tmp_path


def paths_of(text: str, cwd: Path) -> list[str]:
    return [path for _s, _e, path in find_tokens(text, cwd)]


def test_explicit_prefixes_and_existing_files_are_tokens_other_at_words_stay_text(files):
    assert paths_of("see @notes.md and @./sub/a.py, @../x @/etc/hostname @~/y", files) == [
        "notes.md", "./sub/a.py", "../x", "/etc/hostname", "~/y"
    ]
    assert paths_of("mail me@example.com about @dataclass and @sub (a folder)", files) == []


def test_trailing_punctuation_after_an_existing_file_is_not_part_of_it(files):
    assert paths_of("read @notes.md, then answer", files) == ["notes.md"]


def test_double_at_writes_a_literal_at_and_is_never_a_token(files):
    prepared = prepare("@@notes.md is a handle; @notes.md is a file", cwd=files)
    assert prepared.text == "@notes.md is a handle; notes.md is a file"
    assert [a.name for a in prepared.attachments] == ["notes.md"]


def test_a_text_file_is_a_fenced_block_headed_by_its_name(files):
    prepared = prepare("explain @./sub/a.py", cwd=files)
    assert prepared.content == "explain ./sub/a.py\n\n./sub/a.py:\n```python\nx = 1\n```"


@pytest.mark.parametrize(("data", "media_type"), [(PNG, "image/png"), (JPEG, "image/jpeg"), (GIF, "image/gif"), (WEBP, "image/webp")])
def test_images_are_known_by_their_first_bytes_not_their_name(files, data, media_type):
    (files / "picture.txt").write_bytes(data)
    found = read_attachment("picture.txt", files)
    assert found.kind == "image" and found.media_type == media_type
    assert found.image_part().data == base64.b64encode(data).decode()


@pytest.mark.parametrize(("name", "words"), [
    ("./missing.md", "no such file"),
    ("./sub", "is a directory"),
    ("./blob.bin", "binary file"),
    ("./latin1.txt", "not UTF-8 text"),
])
def test_a_path_that_cannot_be_attached_is_one_sentence(files, name, words):
    with pytest.raises(AttachmentError) as err:
        prepare(f"look at @{name}", cwd=files)
    message = str(err.value)
    assert name in message and words in message and message.count(". ") == 0 and message.endswith(".")


def test_an_unreadable_file_is_one_sentence(files):
    target = files / "secret.md"
    target.write_text("x")
    target.chmod(0)
    if os.access(target, os.R_OK):
        pytest.skip("this user (root) can read a file with mode 000")
    with pytest.raises(AttachmentError, match="Cannot attach ./secret.md: Permission denied."):
        prepare("@./secret.md", cwd=files)


def test_size_and_count_caps_are_sentences(files, monkeypatch):
    (files / "big.txt").write_text("x" * (attachments.MAX_TEXT_BYTES + 1))
    with pytest.raises(AttachmentError, match=r"over the 256 KB limit for a text file"):
        prepare("@big.txt", cwd=files)
    monkeypatch.setattr(attachments, "MAX_ATTACHMENTS", 2)
    with pytest.raises(AttachmentError, match=r"Too many attachments \(3\); at most 2"):
        prepare("@notes.md @notes.md @notes.md", cwd=files)
    monkeypatch.setattr(attachments, "MAX_TOTAL_BYTES", 10)
    with pytest.raises(AttachmentError, match="over the 1 KB limit for one prompt"):
        prepare("@notes.md @notes.md", cwd=files)


def test_the_claude_cli_refuses_images_but_takes_text(files):
    (files / "shot.png").write_bytes(PNG)
    assert attachments.refusal("claude-cli", prepare("@notes.md", cwd=files)) is None
    assert "takes text only" in attachments.refusal("claude-cli", prepare("@shot.png", cwd=files))
    assert attachments.refusal("anthropic-messages", prepare("@shot.png", cwd=files)) is None


def test_path_completion_lists_the_directory_with_slashes_on_folders(files):
    assert attachments.complete_path("", files) == ["blob.bin", "latin1.txt", "notes.md", "sub/"]
    assert attachments.complete_path("./sub/", files) == ["./sub/a.py"]
    assert attachments.complete_path("n", files) == ["notes.md"]


async def test_history_keeps_images_by_hash_and_sends_them_again_after_reopening(service, files):
    (files / "shot.png").write_bytes(PNG)
    prepared = prepare("what is @shot.png and @notes.md", cwd=files)
    session = service.chat_session("a")
    service.fake.script(FakeOpenAI.answer("a picture"), FakeOpenAI.answer("still"))
    events = [e async for e in session.send(prepared.content, prepared.attachments)]
    assert isinstance(events[-1], Done)

    sha = prepared.images[0].sha256
    stored_file = service.paths.attachments_dir / f"{sha}.png"
    assert stored_file.read_bytes() == PNG
    assert stored_file.stat().st_mode & 0o077 == 0 and stored_file.parent.stat().st_mode & 0o077 == 0
    stored = await service.history.messages(session.conversation_id)
    assert [(i.sha256, i.name) for i in stored[0].images] == [(sha, "shot.png")]
    assert base64.b64encode(PNG).decode() not in stored[0].content  # the row names the image, not its bytes

    reopened = service.chat_session(None)
    await reopened.open(session.conversation_id)
    assert reopened.messages[0].images == (prepared.images[0].image_part(),)
    [e async for e in reopened.send("and now?")]
    body = service.fake.chat_requests[-1].json
    assert body["messages"][0]["content"][1]["image_url"]["url"].startswith("data:image/png;base64,")

    markdown = await service.history.export_markdown(session.conversation_id)
    assert "notes.md:\n```markdown\nhello\n```" in markdown
    assert f"Attached image: shot.png (image/png) — attachments/{sha}.png" in markdown
    document = json.loads(await service.history.export_json(session.conversation_id))
    assert document["messages"][0]["images"] == [
        {"name": "shot.png", "media_type": "image/png", "sha256": sha, "file": f"attachments/{sha}.png"}
    ]


def test_impossible_paths_are_sentences_not_exceptions(files):
    with pytest.raises(AttachmentError, match="there is no such file"):
        prepare("@./" + "a" * 5000, cwd=files)
    assert paths_of("@" + "b" * 5000, files) == [] and attachments.complete_path("x" * 5000 + "/", files) == []


def test_a_deleted_working_directory_falls_back_to_home(tmp_path, monkeypatch):
    gone = tmp_path / "gone"
    gone.mkdir()
    monkeypatch.chdir(gone)
    gone.rmdir()
    assert attachments.working_dir() == Path.home()

"""Edits of the user's config.toml on an explicit user action, with tomlkit so comments and order survive.

Every edit is checked by re-loading the result with check_config before the file is replaced (atomically), so
an edit can never leave behind a configuration that does not load, and never writes a literal secret.
"""

from __future__ import annotations

import os
import tempfile
import tomllib
from dataclasses import replace
from pathlib import Path
from typing import Any, Callable

from tui_agent.config.load import SECRET_KEYS, find_literal_secrets, check_config
from tui_agent.config.problems import ConfigProblem
from tui_agent.core.chain import NICKNAME  # the one nickname rule, shared with the model picker
from tui_agent.errors import ConfigError

_PROFILE_PARAMS = ("auth", "system", "temperature", "top_p", "max_tokens")


def set_default_profile(path: Path, nickname: str) -> None:
    """Write `default_profile = NICK` (the profile must exist in the file's configuration)."""

    def mutate(doc) -> None:
        doc["default_profile"] = nickname

    _edit(Path(path), mutate, f"set default_profile to `{nickname}`")


def add_profile(path: Path, nickname: str, provider: str, model: str, **params: Any) -> None:
    """Add `[profiles.NICK]` with provider, model and optional parameters (system, temperature, …)."""
    import tomlkit

    if not NICKNAME.match(nickname):
        raise ConfigError(
            f"cannot add profile `{nickname}`: a nickname is letters, digits, '.', '_' or '-', starting with a letter or digit"
        )
    unknown = sorted(set(params) - set(_PROFILE_PARAMS))
    if unknown:
        raise ConfigError(f"cannot add profile `{nickname}`: unknown parameter(s) {', '.join(unknown)}; valid: {', '.join(_PROFILE_PARAMS)}")

    def mutate(doc) -> None:
        profiles = doc.get("profiles")
        if profiles is None:
            profiles = tomlkit.table(is_super_table=True)
            doc["profiles"] = profiles
        if nickname in profiles:
            raise ConfigError(f"{path}: profiles.{nickname}: a profile with this nickname already exists; choose another nickname")
        table = tomlkit.table()
        table["provider"] = provider
        table["model"] = model
        for key in _PROFILE_PARAMS:
            if params.get(key) is not None:
                table[key] = params[key]
        profiles[nickname] = table

    _edit(Path(path), mutate, f"add profile `{nickname}`")


def add_profiles(path: Path, tables: dict[str, dict[str, Any]], *, replace: bool = False) -> None:
    """Add several `[profiles.NICK]` tables in one validated, atomic write (`replace`: an existing one is overwritten)."""
    import tomlkit

    def mutate(doc) -> None:
        profiles = doc.get("profiles")
        if profiles is None:
            profiles = tomlkit.table(is_super_table=True)
            doc["profiles"] = profiles
        for nickname, fields in tables.items():
            if nickname in profiles and not replace:
                raise ConfigError(f"{path}: profiles.{nickname}: a profile with this nickname already exists; choose another nickname")
            table = tomlkit.table()
            for key, value in fields.items():
                table[key] = value
            profiles[nickname] = table

    _edit(Path(path), mutate, f"add profile(s) {', '.join(f'`{n}`' for n in tables)}")


def set_provider_field(path: Path, provider_id: str, key: str, value: Any) -> None:
    """Set `providers.ID.KEY` (a dotted KEY reaches sub-tables: "oauth.tenant"); never a secret."""
    import tomlkit

    parts = key.split(".")
    if any(part.lower() in SECRET_KEYS for part in parts):
        raise ConfigError(
            f"{path}: providers.{provider_id}.{key}: secrets are never written to config.toml; "
            f"store it with `tui-agent login {provider_id}` or name an environment variable in providers.{provider_id}.api_key_env"
        )

    def mutate(doc) -> None:
        providers = doc.get("providers")
        if providers is None:
            providers = tomlkit.table(is_super_table=True)
            doc["providers"] = providers
        table = providers.get(provider_id)
        if table is None:
            table = tomlkit.table()
            providers[provider_id] = table
        for part in parts[:-1]:
            sub = table.get(part)
            if sub is None:
                sub = tomlkit.table()
                table[part] = sub
            table = sub
        table[parts[-1]] = value

    _edit(Path(path), mutate, f"set providers.{provider_id}.{key}")


# --- internals -------------------------------------------------------------------------------------------------


def _edit(path: Path, mutate: Callable[[Any], None], what: str) -> None:
    """Parse, mutate, check the result loads without new problems, then replace the file atomically."""
    import tomlkit
    from tomlkit.exceptions import TOMLKitError

    try:
        text = path.read_text(encoding="utf-8-sig") if path.exists() else ""  # a leading BOM is dropped, as load does
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot {what}: cannot read the file ({exc})") from None
    try:
        doc = tomlkit.parse(text)
    except (TOMLKitError, RecursionError) as exc:
        raise ConfigError(f"{path}: cannot {what}: the file is not valid TOML ({exc}); fix it and try again") from None
    before_edit = _layout(doc)
    try:
        mutate(doc)
    except (TOMLKitError, TypeError, ValueError) as exc:
        raise ConfigError(f"{path}: cannot {what}: {exc}") from None
    _keep_comments_attached(doc, before_edit)
    new_text = tomlkit.dumps(doc)
    try:
        secrets = find_literal_secrets(str(path), tomllib.loads(new_text))
    except tomllib.TOMLDecodeError:  # e.g. a table added inside an inline table the user wrote
        raise ConfigError(f"{path}: cannot {what}: the edit would not be valid TOML; make the change by hand") from None
    if secrets:  # refused before anything touches the disk
        raise ConfigError(_prefixed(secrets, what))

    # Problems the file already had are not this edit's fault; only new ones stop it.
    before = {_problem_id(p) for p in check_config(path)[1]} if text else set()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as exc:
        raise ConfigError(f"{path}: cannot {what}: cannot write in {path.parent} ({exc.strerror or exc})") from None
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(new_text)
            handle.flush()
            os.fsync(handle.fileno())
        _, problems = check_config(tmp)
        new = [replace(p, file=str(path)) for p in problems if _problem_id(p) not in before]
        if new:
            raise ConfigError(_prefixed(new, what))
        if path.exists():
            os.chmod(tmp, path.stat().st_mode & 0o7777)
        os.replace(tmp, path)
    except OSError as exc:
        raise ConfigError(f"{path}: cannot {what}: cannot write the file ({exc.strerror or exc})") from None
    finally:
        if tmp.exists():
            tmp.unlink()


# --- comments stay with what they describe ----------------------------------------------------------------------
#
# tomlkit keeps the comment lines just above a table header (`# my team's gateway` over `[providers.gw]`) at the
# end of the body of the table rendered before it. A table or key appended there would land between the comment
# and its header; after every edit these lines are put back right above their header, and a new table is
# followed by a blank line like the ones the user wrote.


def _tables_in_order(container, prefix: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], Any]]:
    """Every table with a header, in the order the file shows them."""
    from tomlkit.items import Table

    out = []
    for key, item in container.body:
        if isinstance(item, Table) and key is not None:
            name = prefix + (key.key,)
            if not item.is_super_table():
                out.append((name, item))
            out.extend(_tables_in_order(item.value, name))
    return out


def _header_comments(table) -> list:
    """The comment lines at the very end of a table's body (no blank line after them): they belong to the next header."""
    from tomlkit.items import Comment

    body = table.value.body
    i = len(body)
    while i > 0 and body[i - 1][0] is None and isinstance(body[i - 1][1], Comment):
        i -= 1
    return [item for _key, item in body[i:]]


def _trailing_trivia(table) -> list:
    """The blank lines and comments that end a table's body (what separates it from the next header)."""
    from tomlkit.items import Comment, Whitespace

    body = table.value.body
    i = len(body)
    while i > 0 and body[i - 1][0] is None and isinstance(body[i - 1][1], (Comment, Whitespace)):
        i -= 1
    return [item for _key, item in body[i:]]


_Layout = tuple[dict[tuple[str, ...], list], dict[tuple[str, ...], list]]


def _layout(doc) -> _Layout:
    """For each header of a document: the blank lines and comments that end its body, and the comments above it."""
    order = _tables_in_order(doc)
    attached = {}
    for (_prev_name, prev), (name, _table) in zip(order, order[1:]):
        comments = _header_comments(prev)
        if comments:
            attached[name] = comments
    return {name: _trailing_trivia(table) for name, table in order}, attached


def _keep_comments_attached(doc, before: _Layout) -> None:
    from tomlkit.items import Comment, Whitespace

    trailing, attached = before
    names_before = set(trailing)
    order = _tables_in_order(doc)
    for name, table in order:  # a key added to a table goes above the blank lines and comments that ended it
        ends = {id(item) for item in trailing.get(name, ())}
        body = table.value.body
        if ends and {id(item) for item in _trailing_trivia(table)} != ends:
            body[:] = [(k, v) for k, v in body if not (k is None and id(v) in ends)] + [
                (k, v) for k, v in body if k is None and id(v) in ends
            ]
    position = {name: i for i, (name, _t) in enumerate(order)}
    for name, comments in attached.items():
        i = position.get(name)
        if not i:
            continue
        prev = order[i - 1][1]
        if [id(c) for c in _header_comments(prev)] == [id(c) for c in comments]:
            continue  # still right above its header
        wanted = {id(c) for c in comments}
        for k, (_n, table) in enumerate(order):  # take the lines out of wherever the edit left them …
            body = table.value.body
            kept = [(key, v) for key, v in body if not (key is None and id(v) in wanted)]
            if len(kept) == len(body):
                continue
            body[:] = kept
            following = order[k + 1][1] if k + 1 < len(order) else None
            if following is not None and following.trivia.indent.startswith("\n") and body and isinstance(body[-1][1], Whitespace):
                body.pop()  # tomlkit already puts a blank line above the table added here
        body = prev.value.body
        last = body[-1][1] if body else None
        if not (isinstance(last, Whitespace) and last.s.endswith("\n")):
            body.append((None, Whitespace("\n")))
        body.extend((None, c) for c in comments)  # … and put them back right above their header
    for i, (name, table) in enumerate(order[:-1]):
        if name in names_before or any(order[j][0][: len(name)] == name for j in (i + 1,)):
            continue  # an existing table keeps its spacing; a parent is followed by its own sub-table
        body = table.value.body
        last = body[-1][1] if body else None
        if not isinstance(last, (Whitespace, Comment)) and not order[i + 1][1].trivia.indent.startswith("\n"):
            body.append((None, Whitespace("\n")))  # a new table ends with a blank line before the next header


def _prefixed(problems: list[ConfigProblem], what: str) -> list[ConfigProblem]:
    """The problems, the first one saying which edit it stopped."""
    first = problems[0]
    return [replace(first, message=f"cannot {what}: {first.message}")] + problems[1:]


def _problem_id(problem: ConfigProblem) -> tuple[str, str]:
    return problem.key, problem.message

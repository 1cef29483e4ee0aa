"""The resolver: the one place that decides how a profile authenticates, step by recorded step.

profile → provider → auth method is pure reference resolution over the loaded config; a broken link raises
ResolutionError naming it. The credential step is a *state* of the resolved chain (see auth/credentials.py),
never a reason to try another provider or method.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tui_agent.config.load import Config, missing_settings
from tui_agent.config.problems import ConfigProblem, closest_first
from tui_agent.config.schema import ProfileConfig
from tui_agent.core.chain import Chain, Step  # the chain's types are vocabulary; imported from here too
from tui_agent.errors import ResolutionError

if TYPE_CHECKING:
    from tui_agent.core.credentials import CredentialStatus


def resolve(config: Config, nickname: str) -> Chain:
    """Resolve a profile nickname to its provider and auth method, or raise ResolutionError naming the link."""
    fname = str(config.file)
    profile = config.profiles.get(nickname)
    if profile is None:
        choices = closest_first(nickname, list(config.profiles))
        raise ResolutionError(
            [
                ConfigProblem(
                    fname, f"profiles.{nickname}", f"no profile is called `{nickname}`", nickname, choices,
                    hint="" if choices else "define one under [profiles.NAME] in config.toml, or run `tui-agent` to choose a model",
                )
            ]
        )
    steps = [Step("profile", nickname, config.origins.get(f"profiles.{nickname}", fname))]

    provider_id = config.canonical_provider_id(profile.provider)
    if provider_id is None:
        raise ResolutionError(
            [
                ConfigProblem(
                    fname, f"profiles.{nickname}.provider", f"unknown provider `{profile.provider}`",
                    profile.provider, closest_first(profile.provider, config.provider_choices()),
                )
            ]
        )
    provider = config.providers[provider_id]
    origin = config.origins.get(f"providers.{provider_id}", "catalog")
    if provider_id != profile.provider:
        origin = f"{origin} (`{profile.provider}` is an alias of `{provider_id}`)"
    steps.append(Step("provider", provider_id, origin))

    if profile.auth is not None:
        if profile.auth not in provider.auth:
            raise ResolutionError(
                [
                    ConfigProblem(
                        fname, f"profiles.{nickname}.auth",
                        f"provider `{provider_id}` does not allow auth method `{profile.auth}`",
                        profile.auth, closest_first(profile.auth, provider.auth),
                    )
                ]
            )
        method, method_origin = profile.auth, f"profile setting (profiles.{nickname}.auth)"
    else:
        method, method_origin = provider.default_method, "provider default"
    missing = missing_settings(provider, method)
    if missing:
        raise ResolutionError(
            [
                ConfigProblem(fname, f"providers.{provider_id}.{key}", f"missing required field ({why})", hint=provider.setup_hint)
                for key, why in missing
            ]
        )
    steps.append(Step("method", method, method_origin))
    return Chain(profile=profile, provider=provider, method=method, steps=tuple(steps))


def credential_step(status: "CredentialStatus") -> Step:
    """The credential link of a chain, worded the same wherever it is shown (explain, side panel, log)."""
    found = status.source
    if status.identity:
        found += f" {status.identity}"
    if status.detail:
        found += f": {status.detail}"
    return Step("credential", found, f"state {status.state.value}")


def session_profile(config: Config, provider_id: str, model: str) -> ProfileConfig:
    """A profile for a discovered model that has no nickname yet (`provider/model`)."""
    return ProfileConfig(nickname=f"{provider_id}/{model}", provider=provider_id, model=model)

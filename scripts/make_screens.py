#!/usr/bin/env python3
"""Regenerate the pictures in assets/ (used by screens.md) from the reviewed snapshot baselines.

The snapshot tests are the single source of the pictures: change the UI, run the snapshot tests, look at the
report, accept with `--snapshot-update`, then run this script. It copies each baseline SVG to assets/ under
a stable name and, with --png, also renders a PNG (rsvg-convert if installed, else ImageMagick's convert).

    .venv/bin/python scripts/make_screens.py            # SVGs only
    .venv/bin/python scripts/make_screens.py --png      # SVGs and PNGs
    .venv/bin/python scripts/make_screens.py --check    # exit 1 when assets/ is out of date

Other screens add their rows to SHOTS (asset name -> baseline path under tests/snapshots/__snapshots__/).
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SNAPSHOTS = ROOT / "tests" / "snapshots" / "__snapshots__"
ASSETS = ROOT / "assets"

SHOTS: dict[str, str] = {
    "chat-empty": "test_chat_snapshots/test_empty_chat.svg",
    "chat-first-run": "test_chat_snapshots/test_first_run_welcome.svg",
    "chat-mid-stream": "test_chat_snapshots/test_answer_mid_stream.svg",
    "chat-code-block": "test_chat_snapshots/test_finished_answer_with_code_block.svg",
    "chat-stopped": "test_chat_snapshots/test_stopped_answer.svg",
    "chat-long-block": "test_chat_snapshots/test_long_block_held_while_it_streams.svg",
    "chat-error": "test_chat_snapshots/test_error_answer.svg",
    "chat-slash-hints": "test_chat_snapshots/test_slash_command_hints.svg",
    "chat-scrolled-up": "test_chat_snapshots/test_scrolled_up_while_more_arrives.svg",
    "chat-siblings": "test_chat_snapshots/test_answer_with_siblings.svg",
    "chat-history-banner": "test_chat_snapshots/test_history_banner.svg",
    "chat-system-and-context": "test_chat_snapshots/test_system_prompt_line_and_the_narrow_headers_context_and_cost.svg",
    "prompt-menu-arguments": "test_prompt_snapshots/test_menu_of_profiles_with_the_second_row_highlighted.svg",
    "prompt-menu-at-paths": "test_prompt_snapshots/test_menu_of_at_paths.svg",
    "prompt-attachment-chips": "test_prompt_snapshots/test_attachment_chips_above_the_prompt.svg",
    "panel-every-state": "test_status_panel_snapshots/test_panel_with_every_state.svg",
    "panel-cost-unknown": "test_status_panel_snapshots/test_panel_usage_with_an_unknown_cost_and_a_full_context.svg",
    "panel-selected-error": "test_status_panel_snapshots/test_selected_row_in_each_state[error].svg",
    "panel-selected-expiring": "test_status_panel_snapshots/test_selected_row_in_each_state[expiring].svg",
    "panel-wide": "test_status_panel_snapshots/test_wide_layout_has_the_panel_beside_the_conversation.svg",
    "panel-narrow-summary": "test_status_panel_snapshots/test_narrow_layout_shows_the_one_line_summary.svg",
    "panel-narrow-expanded": "test_status_panel_snapshots/test_narrow_layout_expanded.svg",
    "panel-last-request-failed": "test_status_panel_snapshots/test_a_ready_provider_whose_last_request_failed.svg",
    "history-list": "test_history_snapshots/test_history_list.svg",
    "history-search-with-hits": "test_history_snapshots/test_history_search_with_hits.svg",
    "history-empty": "test_history_snapshots/test_history_empty.svg",
    "history-delete-confirmation": "test_history_snapshots/test_history_delete_confirmation.svg",
    "model-picker-grouped": "test_model_picker_snapshots/test_grouped_with_recents_and_favourites.svg",
    "model-picker-filtered": "test_model_picker_snapshots/test_filtered.svg",
    "model-picker-disabled": "test_model_picker_snapshots/test_disabled_provider_row_explains_itself.svg",
    "model-picker-detail": "test_model_picker_snapshots/test_detail_pane_of_a_discovered_model.svg",
    "model-picker-first-run-save": "test_model_picker_snapshots/test_first_run_saving_a_discovered_model.svg",
    "auth-dialog": "test_auth_snapshots/test_dialog_every_state.svg",
    "auth-dialog-checking": "test_auth_snapshots/test_dialog_while_states_are_checked.svg",
    "auth-dialog-explain": "test_auth_snapshots/test_dialog_explains_a_profile_chain.svg",
    "auth-dialog-base-url": "test_auth_snapshots/test_dialog_editing_a_base_url.svg",
    "auth-dialog-login-offer": "test_auth_snapshots/test_dialog_after_a_login_offers_the_models.svg",
    "auth-login-api-key": "test_auth_snapshots/test_api_key_entry.svg",
    "auth-login-device": "test_auth_snapshots/test_device_code_login.svg",
    "auth-login-browser": "test_auth_snapshots/test_browser_login_with_paste_field.svg",
    "auth-login-claude": "test_auth_snapshots/test_claude_code_login.svg",
}


def _png_command(svg: Path, png: Path) -> list[str] | None:
    if shutil.which("rsvg-convert"):
        return ["rsvg-convert", str(svg), "-o", str(png)]
    if shutil.which("convert"):
        return ["convert", str(svg), str(png)]
    return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--png", action="store_true", help="also render PNGs (needs rsvg-convert or ImageMagick)")
    parser.add_argument("--check", action="store_true", help="only check that assets/ matches the baselines")
    args = parser.parse_args(argv)

    missing = [rel for rel in SHOTS.values() if not (SNAPSHOTS / rel).is_file()]
    if missing:
        print(f"make_screens: no baseline for {', '.join(missing)}; run the snapshot tests and accept them first",
              file=sys.stderr)
        return 2

    stale = []
    ASSETS.mkdir(exist_ok=True)
    for name, rel in SHOTS.items():
        source, target = SNAPSHOTS / rel, ASSETS / f"{name}.svg"
        if target.is_file() and target.read_bytes() == source.read_bytes():
            continue
        stale.append(name)
        if not args.check:
            shutil.copyfile(source, target)
    if args.check:
        if stale:
            print(f"make_screens: assets/ is out of date for {', '.join(stale)}; run scripts/make_screens.py", file=sys.stderr)
            return 1
        return 0

    if args.png:
        for name in SHOTS:
            svg, png = ASSETS / f"{name}.svg", ASSETS / f"{name}.png"
            command = _png_command(svg, png)
            if command is None:
                print("make_screens: --png needs rsvg-convert (librsvg2-bin) or ImageMagick's convert", file=sys.stderr)
                return 2
            subprocess.run(command, check=True)
    print(f"make_screens: {len(stale)} of {len(SHOTS)} pictures updated in {ASSETS.relative_to(ROOT)}/")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""What every command shares: the config, the database, JSON output, error exits."""

from __future__ import annotations

import json
import sqlite3
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NoReturn

import click

from appliance.config import ConfigError, KilnConfig, load_config
from appliance.db.database import DB_NAME, connect


class Context:
    def __init__(self, config_path: Path | None) -> None:
        self.config_path = config_path
        self._config: KilnConfig | None = None

    @property
    def config(self) -> KilnConfig:
        if self._config is None:
            try:
                self._config = load_config(self.config_path)
            except ConfigError as exc:
                fail_config(exc)
        assert self._config is not None
        return self._config

    def db(self) -> sqlite3.Connection:
        data_dir = self.config.box.data_dir
        if not (data_dir / DB_NAME).exists():
            raise click.ClickException(
                f"there is no database in {data_dir} yet; start the box with 'appliance run' "
                "or point --config at the box's configuration"
            )
        return connect(data_dir)


def fail_config(exc: ConfigError) -> NoReturn:
    click.echo(f"The configuration in {exc.source} cannot be used:", err=True)
    for problem in exc.problems:
        click.echo(f"  - {problem}", err=True)
    click.echo(
        "Nothing was started or changed. Fix the file and run 'appliance config check FILE'.",
        err=True,
    )
    sys.exit(2)


pass_ctx = click.make_pass_decorator(Context)


def when(timestamp: float | None) -> str:
    if not timestamp:
        return ""
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d %H:%M:%SZ")


def emit_json(value: Any) -> None:
    click.echo(json.dumps(value, indent=2, default=str))

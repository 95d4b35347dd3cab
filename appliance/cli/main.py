"""`appliance`: run the box, check its config, talk DICOM, look at what it holds.

Errors are turned into one plain sentence and an exit code here, at the edge.
Exit codes: 0 ok, 1 operation failed, 2 usage or configuration error.
"""

from __future__ import annotations

import json
import sqlite3
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NoReturn

import click

from appliance.config import ConfigError, KilnConfig, load_config, render_config
from appliance.db.database import DB_NAME, connect
from appliance.logsetup import configure_logging


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
                _fail_config(exc)
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


def _fail_config(exc: ConfigError) -> NoReturn:
    click.echo(f"The configuration in {exc.source} cannot be used:", err=True)
    for problem in exc.problems:
        click.echo(f"  - {problem}", err=True)
    click.echo(
        "Nothing was started or changed. Fix the file and run 'appliance config check FILE'.",
        err=True,
    )
    sys.exit(2)


pass_ctx = click.make_pass_decorator(Context)


@click.group()
@click.option(
    "--config",
    "config_path",
    type=click.Path(path_type=Path),
    envvar="KILN_CONFIG",
    help="The box's TOML configuration (default: built-in defaults).",
)
@click.pass_context
def cli(ctx: click.Context, config_path: Path | None) -> None:
    """Kiln, the DICOM edge appliance."""
    ctx.obj = Context(config_path)


@cli.command()
@click.option(
    "--role",
    type=click.Choice(["all", "dicom", "devices", "web"]),
    default="all",
    show_default=True,
    help="Run one role, or all as separate processes.",
)
@pass_ctx
def run(obj: Context, role: str) -> None:
    """Start the box (all roles) or one role in the foreground."""
    config = obj.config
    configure_logging(config.logging.level, role)
    if role == "all":
        from appliance.roles.supervisor import ROLES, supervise

        sys.exit(supervise(ROLES, obj.config_path))
    if role == "dicom":
        from appliance.roles.dicom_role import run_dicom_role

        try:
            sys.exit(run_dicom_role(config, obj.config_path))
        except OSError as exc:
            raise click.ClickException(
                f"the DICOM service could not start on {config.dicom.bind}:{config.dicom.port}: "
                f"{exc.strerror}; choose another [dicom] port or stop what holds it"
            ) from None
    if role == "devices":
        from appliance.roles.devices_role import run_devices_role

        sys.exit(run_devices_role(config))
    from appliance.roles.web_role import run_web_role

    sys.exit(run_web_role(config))


@cli.group("config")
def config_group() -> None:
    """Check or show the configuration."""


@config_group.command("check")
@click.argument("file", type=click.Path(path_type=Path))
def config_check(file: Path) -> None:
    """Validate FILE; every problem names its section, key and limit."""
    try:
        load_config(file)
    except ConfigError as exc:
        _fail_config(exc)
    click.echo(f"{file}: configuration is valid.")


@config_group.command("show")
@pass_ctx
def config_show(obj: Context) -> None:
    """Print the effective configuration (defaults filled in, secrets masked)."""
    click.echo(render_config(obj.config), nl=False)


@cli.command()
@click.argument("host")
@click.argument("port", type=click.IntRange(1, 65535))
@click.argument("aet")
@click.option("--calling", default=None, help="Calling AE title (default: the box's first).")
@click.option("--timeout", type=float, default=10.0, show_default=True)
@pass_ctx
def echo(obj: Context, host: str, port: int, aet: str, calling: str | None, timeout: float) -> None:
    """C-ECHO a DICOM peer: HOST PORT AET."""
    from appliance.dicom.scu import ScuError, Target
    from appliance.dicom.scu import echo as c_echo

    dicom = obj.config.dicom.model_copy(
        update={"acse_timeout": timeout, "dimse_timeout": timeout, "network_timeout": timeout}
    )
    try:
        status = c_echo(Target(host, port, aet), calling or dicom.ae_titles[0], dicom)
    except ScuError as exc:
        raise click.ClickException(f"C-ECHO failed: {exc}.") from None
    if status != 0:
        raise click.ClickException(f"C-ECHO answered with status 0x{status:04X}.")
    click.echo(f"C-ECHO to {aet} at {host}:{port}: success.")


def _when(timestamp: float | None) -> str:
    if not timestamp:
        return ""
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d %H:%M:%SZ")


def _emit_json(value: Any) -> None:
    click.echo(json.dumps(value, indent=2, default=str))


@cli.group()
def studies() -> None:
    """Received studies."""


@studies.command("ls")
@click.option("--limit", type=click.IntRange(1, 100000), default=50, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@pass_ctx
def studies_ls(obj: Context, limit: int, as_json: bool) -> None:
    """List received studies, newest first."""
    from appliance.storage.queries import StudyQueries

    conn = obj.db()
    rows = StudyQueries(conn).list(limit)
    if as_json:
        _emit_json(rows)
        return
    if not rows:
        click.echo("No studies received yet.")
        return
    click.echo(
        f"{'STUDY INSTANCE UID':<64}  {'PATIENT':<24} {'DATE':<8} {'MOD':<6} "
        f"{'SER':>3} {'INST':>5} {'STATE':<9} LAST RECEIVED"
    )
    for r in rows:
        click.echo(
            f"{r['study_uid']:<64}  {r['patient_name'][:24]:<24} {r['study_date']:<8} "
            f"{(r['modalities'] or '')[:6]:<6} {r['series']:>3} {r['instances']:>5} "
            f"{r['state']:<9} {_when(r['last_received'])}"
        )


@studies.command("show")
@click.argument("uid")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@pass_ctx
def studies_show(obj: Context, uid: str, as_json: bool) -> None:
    """Show one study with its series and instances."""
    from appliance.storage.queries import StudyQueries

    study = StudyQueries(obj.db()).show(uid.strip())
    if study is None:
        raise click.ClickException(f"no study {uid} on this box; 'appliance studies ls' lists them")
    if as_json:
        _emit_json(study)
        return
    click.echo(f"Study      {study['study_uid']}")
    click.echo(
        f"Patient    {study['patient_name']} (ID {study['patient_id']}, born "
        f"{study['patient_birth_date'] or '?'}, sex {study['patient_sex'] or '?'})"
    )
    click.echo(
        f"Date       {study['study_date']} {study['study_time']}  accession "
        f"{study['accession_number'] or '-'}"
    )
    click.echo(
        f"State      {study['state']}"
        + (f" since {_when(study['completed_at'])}" if study["completed_at"] else "")
    )
    for s in study["series"]:
        size = sum(i["size"] for i in s["instances"])
        click.echo(
            f"  Series {s['series_number'] or '?':>4} {s['modality']:<3} "
            f"{len(s['instances']):>5} instance(s) {size / 1e6:9.1f} MB  "
            f"{s['series_description']}  {s['series_uid']}"
        )


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@pass_ctx
def status(obj: Context, as_json: bool) -> None:
    """The box at a glance: roles, services, counts, outbox, disk."""
    from appliance.status import collect

    report = collect(obj.db(), obj.config)
    if as_json:
        _emit_json(report)
        return
    for name in ("dicom", "devices", "web"):
        role = report["roles"].get(name)
        state = "up" if role and role["up"] else "DOWN"
        click.echo(f"role {name:<8} {state}" + (f" (pid {role['pid']})" if role else ""))
    for service in report["services"]:
        extra = (
            f", {service['open_associations']} open association(s)"
            if "open_associations" in service
            else ""
        )
        titles = f" AE {', '.join(service['ae_titles'])}" if "ae_titles" in service else ""
        click.echo(f"{service['service']:<6} {service['bind']}:{service['port']}{titles}{extra}")
    c = report["counts"]
    click.echo(
        f"studies {c['studies']} ({c['studies_complete']} complete), series {c['series']}, "
        f"instances {c['instances']}, {c['bytes'] / 1e6:.1f} MB"
    )
    o = report["outbox"]
    click.echo(
        f"outbox  {o['pending']} pending, {o['sending']} sending, {o['failed']} failed, "
        f"{o['sent']} sent"
    )
    d = report["disk"]
    click.echo(
        f"disk    {d['free'] / 1e9:.1f} GB free of {d['total'] / 1e9:.1f} GB "
        f"(reserve {d['reserve'] / 1e9:.1f} GB)"
    )


def main() -> None:
    cli(prog_name="appliance")

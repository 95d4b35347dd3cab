"""`appliance`: run the box, check its config, talk DICOM, look at what it holds.

Errors are turned into one plain sentence and an exit code here, at the edge.
Exit codes: 0 ok, 1 operation failed, 2 usage or configuration error.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from appliance.cli.context import Context, emit_json, fail_config, pass_ctx, when
from appliance.config import ConfigError, load_config, render_config
from appliance.logsetup import configure_logging


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
        config = load_config(file)
    except ConfigError as exc:
        fail_config(exc)
    from appliance.publishing.label_artwork import template_problems

    problems = template_problems(config.publishing)
    if problems:
        fail_config(ConfigError(str(file), problems))
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
        emit_json(rows)
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
            f"{r['state']:<9} {when(r['last_received'])}"
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
        emit_json(study)
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
        + (f" since {when(study['completed_at'])}" if study["completed_at"] else "")
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
    """The box at a glance: roles, services, counts, queues, stations, printers, disk, alarms."""
    from appliance.status import collect

    report = collect(obj.db(), obj.config)
    if as_json:
        emit_json(report)
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
    w, m = report["worklist"], report["mpps"]
    click.echo(
        f"worklist {w['scheduled']} scheduled, {w['finished']} finished; MPPS "
        f"{m['IN PROGRESS']} in progress, {m['COMPLETED']} completed, "
        f"{m['DISCONTINUED']} discontinued"
    )
    upstream = w.get("upstream")
    if upstream:
        state = (
            f"last refreshed {when(upstream['last_success'])}"
            if upstream["last_success"]
            else "not refreshed yet"
        )
        error = f"; last error: {upstream['last_error']}" if upstream["last_error"] else ""
        click.echo(
            f"upstream worklist {upstream['ae_title']}: {state}, {upstream['items']} item(s){error}"
        )
    o = report["outbox"]
    click.echo(
        f"outbox  {o['pending']} pending, {o['sending']} sending, {o['failed']} failed, "
        f"{o['sent']} sent"
    )
    jobs = report["jobs"]
    click.echo(
        "jobs    " + (", ".join(f"{n} {state}" for state, n in sorted(jobs.items())) or "none")
    )
    devices = report["roles"].get("devices", {})
    for station in devices.get("devices", []):
        device = station.get("device", {})
        states = "/".join(
            str(device[k]) for k in ("robot_state", "drive_state", "state") if k in device
        )
        alarm = station.get("sentence") or device.get("alarm") or ""
        click.echo(
            f"station {station['station']:<12} {station['condition']}"
            + (f" ({states})" if states else "")
            + (f": {alarm}" if alarm else "")
        )
    for name, problem in devices.get("problems", {}).items():
        click.echo(f"station {name:<12} NOT OPENED: {problem}")
    printing = report["print"]
    if printing["enabled"]:
        counts = ", ".join(f"{n} {state}" for state, n in sorted(printing["jobs"].items()))
        click.echo("print   " + (counts or "no jobs"))
        for output in printing["outputs"]:
            click.echo(
                f"printer {output['output']:<12} {output['status']} {output['status_info']} "
                f"({output['state']}), AE {output['ae_title']}, {output['waiting']} waiting"
                + (f": {output['message']}" if output["message"] else "")
            )
    d = report["disk"]
    click.echo(
        f"disk    {d['free'] / 1e9:.1f} GB free of {d['total'] / 1e9:.1f} GB "
        f"(reserve {d['reserve'] / 1e9:.1f} GB)"
    )
    alarms = report["alarms"]
    click.echo("alarms  " + ("none" if not alarms else f"{len(alarms)} active"))
    for alarm in alarms:
        click.echo(f"  [{alarm['id']}] {alarm['severity']}: {alarm['sentence']}")


def _register() -> None:
    """Command groups that live in their own modules."""
    from appliance.cli.export_cmds import export
    from appliance.cli.export_media_cmds import registered
    from appliance.cli.mpps_cmds import mpps
    from appliance.cli.outbox_cmds import outbox
    from appliance.cli.worklist_cmds import worklist

    cli.add_command(worklist)
    cli.add_command(mpps)
    cli.add_command(outbox)
    cli.add_command(export)
    for command in registered():
        export.add_command(command)
    from appliance.cli.users_cmds import registered as users_group

    cli.add_command(users_group())
    from appliance.cli.publishing_cmds import registered as publishing_commands

    for command in publishing_commands():
        cli.add_command(command)
    from appliance.cli.operator_cmds import registered as operator_commands

    for command in operator_commands():
        cli.add_command(command)
    from appliance.cli.print_cmds import registered as print_commands

    for command in print_commands():
        cli.add_command(command)


_register()


def main() -> None:
    cli(prog_name="appliance")

"""The field engineer's service commands: alarms, devices and the support bundle."""

from __future__ import annotations

import click


def registered() -> list[click.Command]:
    from appliance.cli.alarms_cmds import alarms
    from appliance.cli.device_cmds import device
    from appliance.cli.device_test_burn import device_test_burn
    from appliance.cli.diagnostics_cmds import diagnostics

    device.add_command(device_test_burn)
    return [alarms, device, diagnostics]

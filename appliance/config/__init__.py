"""One TOML file, validated by a strict schema."""

from appliance.config.load import ConfigError, load_config, render_config
from appliance.config.schema import KilnConfig

__all__ = ["ConfigError", "KilnConfig", "load_config", "render_config"]

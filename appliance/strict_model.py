"""The base of every config section: unknown keys refused, values frozen.

Outside appliance.config (whose package imports the whole schema) and free of other
imports, so section models elsewhere (publishing, labels) can use it while schema.py
imports them for KilnConfig.
"""

from pydantic import BaseModel, ConfigDict


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

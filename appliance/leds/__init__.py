"""The front-panel LEDs: what the box's state is (`policy.py`), the LEDs' driver from
`[leds]` (`settings.py`, `factory.py`) and the loop that keeps them showing it
(`service.py`). The table of states and patterns is docs/leds.md.
"""

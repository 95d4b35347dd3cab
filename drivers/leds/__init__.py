"""Front-panel LEDs: three kinds behind one small interface, `set(led, pattern)`.

Five parts (DESIGN.md), per kind:

- Linux LED class (`sysfs.py`): the transport is the class directory's files
  (brightness, trigger, delay_on/delay_off); the kernel's `timer` trigger blinks. The
  simulator is a fake class directory (`sysfs_fake.py`) in any folder.
- gpiod v2 lines (`gpio.py`): the driver renders blinking itself on every `refresh`;
  the simulator is a fake chip (`gpio_fake.py`) that records line values over time.
- A USB-serial LED board (`serial_board.py`): a line protocol (`board_protocol.py`, pure)
  over pyserial (`board_transport.py`); the board blinks by itself. The simulator is a
  board behind a pty (`board_simulator.py`).

Patterns and the interface are in `pattern.py`, typed errors in `errors.py`. What a
pattern means for the box (ready, attention, ...) is decided in `appliance.leds`; the
LEDs need no state machine: what they show is a pure function of the box's status.
"""

"""Primera disc publishers (Disc Publisher II/Pro/XRP/SE/Xi/4100, Bravo).

`error_codes.py` is the PTRobot system-error table shared by both backends. The PTBurn
backend drives Primera's PTBurn host through its shared job folder: `ptburn_protocol.py`
(pure: job requests out, status files in), `ptburn_transport.py` (the folder: atomic
writes, polling, cleanup), `ptburn_driver.py` (`PtburnPublisher`: submit, poll, cancel,
status; typed errors) and `ptburn_simulator.py` (a behavioural PTBurn host on a folder).
The byte-stream backend lives in the `serial_*` modules.
"""

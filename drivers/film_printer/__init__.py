"""DICOM film printers, reached as a Print SCU (Basic Grayscale / Color Print Management).

Five parts (DESIGN.md): the transport is one DICOM association through pynetdicom
(`transport.py`: connect, N-GET/N-CREATE/N-SET/N-ACTION/N-DELETE, each answer as a
`Reply`); the protocol is `protocol.py` (pure: the status code table, the Printer Status
Info terms, the datasets sent); the driver is `driver.py` (`FilmPrinter`: Printer N-GET,
then the film session sequence; typed errors in `errors.py`); the simulator is
`simulator.py` (a behavioural Print SCP with film magazines and faults, what a `sim://`
film output talks to). The state machine is `statemachines/film_printer.py`.
"""

"""Stations: the places discs are made (a robot with its drives, a PTBurn host, one drive
by hand), each behind the contract in appliance/publishing/station.py."""

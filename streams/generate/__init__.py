"""`hotline generate`: a calibrated, deterministic replica of Dongguan's 2024 12345 hotline tickets.

model.py decides each ticket's fate (calibrated by calibration.py), writer.py turns tickets into
snapshot or lifecycle events, dirty.py mixes in bad records, replica.py writes file and manifest.
"""
from streams.generate.model import Ticket, generate_tickets
from streams.generate.replica import manifest_path, write_replica

__all__ = ["Ticket", "generate_tickets", "manifest_path", "write_replica"]

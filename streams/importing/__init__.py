"""`hotline import`: a real export of a 12345 / 政务留言 platform (.xlsx, .csv, JSON lines, Chinese
headers) -> the contract's events (schemas/ticket_event.schema.json), to a JSONL file or Kafka.

readers (file -> rows) · columns (headers -> fields) · values (cells -> contract values) ·
rows (row -> events and problems) · run (rows -> ordered records) · tally (the summary) · cli.
"""

"""The durable outbox: every outbound message waits here until its peer has it."""

"""The protocol core: pure functions and small frozen types.

Everything here takes bytes and values and returns decisions. Nothing here opens a socket, touches
a database or reads a clock: callers pass the current time in. That is what lets every rule of the
protocol be tested without a network, and what a second implementation can be checked against.
"""

"""The web portal every node serves."""

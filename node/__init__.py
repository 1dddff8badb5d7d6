"""The node: config, wiring, the gRPC servers, the ops endpoints and the CLI."""

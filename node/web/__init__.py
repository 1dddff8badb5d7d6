"""The portal every node serves on its web port (docs/PORTAL.md): a client of the node's own
services and identity layer, with the API's authorization, in two languages."""

__all__: list[str] = []

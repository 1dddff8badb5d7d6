"""The portal's pages, one module per kind of page; each exports `routes`, which app.py
assembles. Every page calls the same services and identity objects as the gRPC servicers in
node/servers/, with the signed-in visitor's claims, so it is refused exactly as the API is."""

__all__: list[str] = []

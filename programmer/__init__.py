"""itp core: dose arithmetic, drug library, checks, link, emulator, store. No Qt here."""

__version__ = "0.1.0"

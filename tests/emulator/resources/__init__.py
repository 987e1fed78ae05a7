"""One module per DigitalOcean resource family; each defines `register(api)`.

Modules whose name starts with `_` are helpers shared by the families.
"""

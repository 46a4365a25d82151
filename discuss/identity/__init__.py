"""The identity domain: author tokens and bearer resolvers, reader accounts and sessions,
publisher SSO, and staff accounts with who may act where. The lowest domain: it uses only
models and the foundation modules.
"""

"""Outside providers (payments, search, identity): each a Protocol with a real and an offline side.

The modules here are the only ones importing those providers' SDKs.
"""

"""Outside providers (Stripe, Meilisearch, OpenID Connect): the only modules importing SDKs."""

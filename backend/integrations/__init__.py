"""Outside providers (Stripe, Meilisearch, OpenID Connect): the only modules importing their SDKs."""

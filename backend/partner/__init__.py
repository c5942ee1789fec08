"""Partner API: OAuth2 client-credentials clients of organizations' own systems."""

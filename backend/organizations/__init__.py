"""organizations domain: portal, public profile, invitations, directory, CSR ranking."""

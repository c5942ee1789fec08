"""Privacy toolkit: pure functions for ID/phone/USCC validation, masking, field encryption,
the personal-data scan of public text and k-anonymity generalization. No settings, no DB."""

"""Subject access exports (contract §20): a caller's recordings as one signed, streamed package."""

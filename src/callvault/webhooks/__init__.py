"""Webhooks (contract §23): endpoints of a privacy program told of purges, redactions, exports,
holds and suppressions, to the Standard Webhooks spec, durably and at least once."""

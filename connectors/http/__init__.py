"""Shared HTTP machinery: one session per source, auth and paginators chosen by name, one
table classifying failures, record paths, incremental cursors and rate limits.

`kind: rest` (connectors/rest.py) is this machinery declared entirely in config.yaml; each
vendor preset (servicenow, snipeit, jamf, netbox, okta, msgraph, google_licensing) is the
same machinery with defaults (`connectors/http/preset.py`).
"""

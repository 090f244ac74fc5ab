"""`kind: rest`: an HTTP source declared entirely in config.yaml.

    - name: assets_api
      kind: rest
      base_url: https://assets.example.com/api
      auth: {type: bearer, token: ${ASSETS_TOKEN}}
      paginator: {type: offset, limit: 200, total_path: total}
      entities:
        assets:
          path: /devices
          records: rows
          id: id
          cursor: updated_at
          incremental: {params: {updated_since: "{cursor}"}}
          fields: {serial_number: serial, name: name}

Auth types: bearer, basic, api_key, oauth2_client_credentials, token_exchange. Paginators:
offset, page_number, cursor, link_header, odata, json_link, single (see connectors/http).
"""

from __future__ import annotations

from typing import Literal

from connectors.http.config import HttpSourceConfig
from connectors.http.connector import HttpConnector


class RestSourceConfig(HttpSourceConfig):
    kind: Literal["rest"]


class RestConnector(HttpConnector):
    kind = "rest"
    config_model = RestSourceConfig

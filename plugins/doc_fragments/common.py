# Copyright: Seaworthy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment:
    # The options every DigitalOcean module and the inventory plugin share.
    DOCUMENTATION = r"""
options:
  token:
    description:
      - DigitalOcean API token (a personal access token with the scopes the module needs).
      - Read from the environment variables E(DIGITALOCEAN_TOKEN), E(DIGITALOCEAN_ACCESS_TOKEN)
        or E(DO_API_TOKEN) when not given.
    type: str
    aliases: [api_token, oauth_token]
  api_url:
    description:
      - Base URL of the DigitalOcean API; E(DIGITALOCEAN_API_URL) when not given.
      - Point it at a local emulator for tests.
    type: str
    default: https://api.digitalocean.com
  validate_certs:
    description:
      - Verify the API's TLS certificate. Extra CAs come from E(REQUESTS_CA_BUNDLE).
    type: bool
    default: true
  timeout:
    description:
      - Seconds to wait for one HTTP answer before the request counts as failed
        (and is retried when that is safe).
    type: int
    default: 30
notes:
  - Requests answered 429 are retried after the time the API asks for (C(Retry-After)), for every method.
  - Reads, updates and deletes are retried on 5xx and network errors with exponential backoff;
    a create is never re-sent blindly, the module first looks whether it happened.
requirements:
  - pydo >= 0.44
"""

    WAIT = r"""
options:
  wait:
    description:
      - Wait until the resource is ready (and its actions completed) before returning.
    type: bool
    default: true
  wait_timeout:
    description:
      - How many seconds to wait when O(wait=true).
    type: int
    default: 300
"""

    ATTRIBUTES = r"""
attributes:
  action_group:
    description: Use C(group/seaworthy.digitalocean.all) in C(module_defaults) to set common options.
    support: full
    membership:
      - seaworthy.digitalocean.all
  check_mode:
    description: Makes no write call; reports exactly what would change.
    support: full
  diff_mode:
    description: Shows the resource before and after the change.
    support: full
"""

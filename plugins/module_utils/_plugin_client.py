# Copyright: Seaworthy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""`DOClient` for controller-side plugins (inventory), which have no AnsibleModule.

`DOClient` reads its settings from `module.params` and reports configuration
problems through `module.fail_json`. A plugin gives it a small stand-in that
carries the plugin's options and turns `fail_json` into `PluginClientError`,
so modules and plugins share one retry, error and pagination policy and
`_client.py` stays exactly as the modules know it.

One addition for interactive and scheduled inventory runs: a retry budget.
The module policy may sleep about a minute between attempts against an API
that does not answer; an inventory source should say so sooner, with the
last error, once `retry_max_time` seconds of back-off are spent.
"""

from __future__ import annotations

import sys
import time

from ._client import HAS_PYDO, PYDO_IMPORT_ERROR, TOKEN_ENV, DOApiError, DOClient

if HAS_PYDO:
    from azure.core.exceptions import ServiceRequestError, ServiceResponseError


class PluginClientError(Exception):
    """A client that cannot be built or used, with a one-line reason."""


class _RetryBudgetSpent(Exception):
    pass


class _OptionsModule:
    """The part of AnsibleModule that DOClient uses: `params` and `fail_json`."""

    def __init__(self, params):
        self.params = params

    def fail_json(self, msg, **_kwargs):
        raise PluginClientError(msg)


class PluginClient(DOClient):
    """DOClient built from plugin options; gives up once `retry_max_time` seconds of back-off are spent."""

    def __init__(self, token, api_url, validate_certs=True, timeout=30, retry_max_time=60, sleep=time.sleep):
        if not HAS_PYDO:
            raise PluginClientError(
                f"the Python library pydo is missing on the controller ({sys.executable}): "
                f"install it with `{sys.executable} -m pip install 'pydo>=0.44'` ({PYDO_IMPORT_ERROR})"
            )
        if not token:
            raise PluginClientError(
                "no DigitalOcean API token: set the token option or one of the environment variables "
                + ", ".join(TOKEN_ENV)
            )
        self._real_sleep = sleep
        self._retry_max_time = max(0, retry_max_time)
        self._slept = 0.0
        self._last = (None, None, None)
        params = {"token": token, "api_url": api_url, "validate_certs": validate_certs, "timeout": timeout}
        super().__init__(_OptionsModule(params), sleep=self._budgeted_sleep)

    def _budgeted_sleep(self, seconds):
        if self._slept + seconds > self._retry_max_time:
            raise _RetryBudgetSpent()
        self._slept += seconds
        self._real_sleep(seconds)

    def _attempt(self, name, args, kwargs):
        try:
            response = super()._attempt(name, args, kwargs)
        except (ServiceRequestError, ServiceResponseError) as exc:
            self._last = (None, None, exc)
            raise
        self._last = (response.status, response.body, None)
        return response

    def call(self, name, *args, **kwargs):
        try:
            return super().call(name, *args, **kwargs)
        except _RetryBudgetSpent:
            status, body, transport_error = self._last
            raise DOApiError(name, status, body, transport_error) from None

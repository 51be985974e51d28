"""WebSub (W3C Recommendation, 2018): telling a hub that a feed changed, so that subscribers hear of it at
once. The feed names its hubs (link rel="hub") and itself (rel="self": the topic); after each new copy of a
feed is delivered, the Deliverer pings each hub through the ledger like any delivery (DeliveryKind.PING),
so a hub that is down is retried with the same backoff and ends dead like any other destination.

The ping is the common practice the Recommendation leaves to hubs: a form-encoded POST with
hub.mode=publish and hub.url=<topic> (hub.topic too, which some hubs read); any 2xx is success.
"""

from __future__ import annotations

import httpx

from wirepub.transports.errors import DeliveryError, Refused, Throttled, Unreachable

TIMEOUT = httpx.Timeout(10.0, connect=5.0)


def hub_client() -> httpx.Client:
    return httpx.Client(timeout=TIMEOUT, follow_redirects=False, headers={"User-Agent": "wirepub (WebSub publisher)"})


def publish(client: httpx.Client, *, hub: str, topic: str) -> None:
    """Tell `hub` that `topic` changed. Raises DeliveryError (retryable unless the hub refused the request)."""
    try:
        response = client.post(hub, data={"hub.mode": "publish", "hub.url": topic, "hub.topic": topic})
    except httpx.HTTPError as exc:
        raise Unreachable(f"WebSub hub {hub}: {type(exc).__name__}: {exc}") from None
    if 200 <= response.status_code < 300:
        return
    said = response.text[:200].strip()
    if response.status_code == 429:
        after = response.headers.get("Retry-After", "")
        raise Throttled(f"WebSub hub {hub} answered 429", retry_after=float(after) if after.isdigit() else None)
    error: type[DeliveryError] = Unreachable if response.status_code >= 500 else Refused
    raise error(f"WebSub hub {hub} answered {response.status_code} for {topic}" + (f": {said}" if said else ""))

"""Small helpers the Supabase tests share: rpc calls through the real client, and clock moves.

"Moving the clock" means moving the rows' times into the past with a direct SQL update (the
functions read only the database clock), so lease expiry and retry times are deterministic and no
test sleeps for a lease to run out.
"""

from __future__ import annotations

import uuid
from typing import Any


async def enqueue(client: Any, names: list[str], priority: str = "LOW", **extra: Any) -> list[dict[str, Any]]:
    items = [{"username": n, "priority": priority, "source": "manual", **extra} for n in names]
    out: list[dict[str, Any]] = []
    for start in range(0, len(items), 1000):
        out += (await client.rpc("queue_enqueue", {"p_items": items[start : start + 1000]}).execute()).data
    return out


async def claim(
    client: Any,
    owner: str,
    limit: int,
    lease_seconds: float = 60,
    request_id: str | None = None,
    low_limit: int | None = None,
) -> list[dict[str, Any]]:
    args: dict[str, Any] = {
        "p_owner": owner,
        "p_request_id": request_id or str(uuid.uuid4()),
        "p_limit": limit,
        "p_lease_seconds": lease_seconds,
    }
    if low_limit is not None:
        args["p_low_limit"] = low_limit
    return (await client.rpc("queue_claim", args).execute()).data


async def rpc(client: Any, name: str, **args: Any) -> Any:
    return (await client.rpc(name, args).execute()).data


async def expire_leases(db: Any, ids: list[str] | None = None) -> None:
    """Every given (or every) PROCESSING item's lease ran out a second ago."""
    await db.execute(
        "UPDATE public.queue SET lease_expires_at = now() - interval '1 second'"
        " WHERE status = 'PROCESSING' AND ($1::uuid[] IS NULL OR id = ANY ($1::uuid[]))",
        ids,
    )


async def make_due(db: Any) -> None:
    """Every retry time is reached."""
    await db.execute("UPDATE public.queue SET not_before = now() - interval '1 second' WHERE not_before IS NOT NULL")


async def row(db: Any, username: str) -> dict[str, Any]:
    rec = await db.fetchrow(
        "SELECT * FROM public.queue WHERE username = $1 ORDER BY created_at DESC, id DESC LIMIT 1", username
    )
    return dict(rec) if rec else {}

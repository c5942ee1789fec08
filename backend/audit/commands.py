"""The body of ``tongxin verify-audit`` (backend/cli.py parses the arguments)."""

from __future__ import annotations

import sys

from backend.audit.checkpoints import verify_chain
from backend.audit.service import seal_all, verify


async def verify_command(
    db_url: str,
    *,
    full: bool = False,
    from_seq: int = 1,
    to_seq: int | None = None,
    key: bytes | None = None,
    previous_keys: tuple[bytes, ...] = (),
) -> int:
    """Seal what has committed, then verify: from the last checkpoint (recording a new one),
    the whole chain with ``full``, or one key's segment with ``from_seq``/``to_seq``/``key``
    (no checkpoint). Prints one line; 0 when intact, 1 when broken."""
    from backend.core.db import make_engine, make_sessionmaker, unit_of_work

    engine = make_engine(db_url, pool_size=1)
    sessions = make_sessionmaker(engine)
    try:
        if key is None:
            async with unit_of_work(sessions) as session:
                await seal_all(session)
        if key is not None or from_seq != 1 or to_seq is not None:
            async with sessions() as session:
                result = await verify(session, key=key, from_seq=from_seq, to_seq=to_seq)
            line = (
                f"audit log intact: {result.checked} rows verified"
                if result.ok
                else f"audit log BROKEN at row {result.first_bad_seq}: {result.reason} "
                f"({result.checked} rows verified before it)"
            )
            ok = result.ok
        else:
            async with unit_of_work(sessions) as session:
                check = await verify_chain(session, full=full, previous_keys=previous_keys)
            line, ok = check.line(), check.result.ok
    finally:
        await engine.dispose()
    sys.stdout.write(line + "\n")
    return 0 if ok else 1

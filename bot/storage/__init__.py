"""Our database: handoff cases, their threads, caseworkers, audit log, outbox."""

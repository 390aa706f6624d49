package dev.attestmesh.server.xds;

import java.util.concurrent.atomic.AtomicLong;

/** Counts of authenticated xDS streams, for the connected-proxies metric. */
public final class XdsStreamStats {
    private final AtomicLong open = new AtomicLong();

    void opened() {
        open.incrementAndGet();
    }

    void closed() {
        open.decrementAndGet();
    }

    public long openStreams() {
        return open.get();
    }
}

package dev.attestmesh.server.ca;

import dev.attestmesh.ca.AttestationBoundIssuer;
import dev.attestmesh.ca.MeshCa;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;

/**
 * The control plane's current mesh CA and the issuer built on it, swapped atomically when the
 * intermediate is rotated.
 */
public final class MeshCaHolder {
    private record Current(MeshCa ca, AttestationBoundIssuer issuer) {}

    private final AtomicReference<Current> current;
    private final Clock clock;

    public MeshCaHolder(MeshCa ca, Clock clock) {
        this.clock = clock;
        this.current = new AtomicReference<>(new Current(ca, new AttestationBoundIssuer(ca, clock)));
    }

    public MeshCa ca() {
        return current.get().ca();
    }

    public AttestationBoundIssuer issuer() {
        return current.get().issuer();
    }

    public List<X509Certificate> trustBundle() {
        return current.get().ca().trustBundle();
    }

    public void replace(MeshCa ca) {
        current.set(new Current(ca, new AttestationBoundIssuer(ca, clock)));
    }
}

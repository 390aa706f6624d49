package dev.attestmesh.authz;

import dev.attestmesh.authz.peer.UntrustedText;
import dev.attestmesh.ca.AttestMeshOids;
import dev.attestmesh.ca.SpiffeId;
import dev.attestmesh.identity.ReservedClientCertificates;
import dev.attestmesh.identity.ReservedIdentities;
import io.grpc.Attributes;
import io.grpc.Grpc;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.ServerTransportFilter;
import io.grpc.Status;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.security.cert.Certificate;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Instant;
import java.util.Collection;
import java.util.LinkedHashSet;
import java.util.Objects;
import java.util.Set;
import javax.net.ssl.SSLPeerUnverifiedException;
import javax.net.ssl.SSLSession;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Lets only authenticated callers reach ext_authz {@code Check}. A Check answer tells whether a node is
 * attested, and its denials name nodes and revocation reasons, so it is for the mesh's own Envoys, not
 * for anyone who can open a connection to the port. Two modes:
 * <ul>
 *   <li>{@linkplain #mutualTls mutual TLS} (the control plane's port, a standalone replica's TLS port): the
 *       caller presents, in the TLS handshake, either a <b>mesh node certificate</b> that is a current
 *       certificate of an attested node, chains to the current trust bundle, is unexpired and not
 *       revoked per the registry (and is not simulated-TEE evidence outside dev mode), or an
 *       <b>operator-issued reserved client certificate</b> ({@code attestmesh ca issue-client}) whose
 *       SPIFFE ID is one of the configured ext_authz client identities;</li>
 *   <li>{@linkplain #hostLocalPlaintext host-local plaintext} (loopback development and load harnesses): no
 *       TLS, so no identity; only connections that never leave the host are answered (loopback TCP,
 *       in-process and Unix domain socket transports). Every process that can reach the port is trusted.</li>
 * </ul>
 * Others get {@code UNAUTHENTICATED} (no client certificate) or {@code PERMISSION_DENIED} with a fixed
 * message that says nothing about the registry; why is logged here, on the server.
 *
 * <p>Cost: the verdict is kept per connection, so a Check on an accepted connection costs an attribute
 * lookup and a clock read, without allocation. It is taken again after a registry change of the caller's own
 * node or of everything ({@link RegistryChange}; so a revoked caller is refused from its next Check, while
 * other nodes attesting do not make every connection judged again), when the caller's certificate expires, and at least every
 * {@value #ACCEPTED_RECHECK_MILLIS} ms. This needs {@link #transportFilter()} installed on the server (it
 * gives each connection its slot); without it every call is judged afresh, which is correct but slower.
 *
 * <p>Thread-safe.
 */
public final class CheckCallerAuthenticator implements ServerInterceptor {
    private static final Logger LOG = LoggerFactory.getLogger(CheckCallerAuthenticator.class);
    /** An accepted connection is judged again at least this often, even without a registry change. */
    static final long ACCEPTED_RECHECK_MILLIS = 60_000;
    /** A refused certificate is judged again after this long (it may have been too early, or the view empty). */
    static final long REFUSED_RECHECK_MILLIS = 5_000;

    private static final Status NO_CLIENT_CERTIFICATE = Status.UNAUTHENTICATED.withDescription(
            "ext_authz Check requires mutual TLS with a mesh client certificate");
    private static final Status NOT_A_CHECK_CLIENT = Status.PERMISSION_DENIED.withDescription(
            "this client certificate may not call ext_authz Check");
    private static final Status NOT_HOST_LOCAL = Status.PERMISSION_DENIED.withDescription(
            "ext_authz Check over plaintext answers callers on this host only");
    private static final Attributes.Key<Slot> SLOT = Attributes.Key.create("attestmesh-check-caller");

    private final boolean plaintext;
    private final RegistryView view; // null in plaintext mode
    private final NodeCertificateVerifier nodes;
    private final Set<String> clientIdentities;
    private final boolean allowInsecure;
    private final Clock clock;
    private final ChangeStamps stamps = new ChangeStamps();
    private final ServerTransportFilter filter = new ServerTransportFilter() {
        @Override
        public Attributes transportReady(Attributes attrs) {
            return attrs.toBuilder().set(SLOT, new Slot()).build();
        }
    };

    private CheckCallerAuthenticator(boolean plaintext, RegistryView view, Set<String> clientIdentities,
            boolean allowInsecure, Clock clock) {
        this.plaintext = plaintext;
        this.view = view;
        this.nodes = view == null ? null : new NodeCertificateVerifier(view);
        this.clientIdentities = checkedClientIdentities(clientIdentities);
        this.allowInsecure = allowInsecure;
        this.clock = clock;
        if (view != null) {
            view.addTargetedChangeListener(stamps::changed);
        }
    }

    /**
     * Callers authenticated by their TLS client certificate.
     *
     * @param view the registry the decider reads (node certificates are checked against it)
     * @param clientIdentities reserved SPIFFE IDs ({@code spiffe://<td>/attestmesh/...}) of operator-issued
     *     client certificates that may call Check besides attested nodes; empty for nodes only
     * @param allowInsecure admit nodes attested with simulated-TEE evidence as callers (dev mode only)
     * @throws IllegalArgumentException naming an identity that is not a reserved SPIFFE ID
     */
    public static CheckCallerAuthenticator mutualTls(RegistryView view, Clock clock, Set<String> clientIdentities,
            boolean allowInsecure) {
        return new CheckCallerAuthenticator(false, Objects.requireNonNull(view, "view"), clientIdentities,
                allowInsecure, Objects.requireNonNull(clock, "clock"));
    }

    /**
     * Callers on host-local transports of a plaintext server, for loopback development and load
     * harnesses only: anything on the host can then ask.
     */
    public static CheckCallerAuthenticator hostLocalPlaintext() {
        return new CheckCallerAuthenticator(true, null, Set.of(), false, Clock.systemUTC());
    }

    /**
     * Install on the server ({@code ServerBuilder.addTransportFilter}) that serves the binding, so each
     * connection's verdict is kept; it only attaches an empty slot to every connection.
     */
    public ServerTransportFilter transportFilter() {
        return filter;
    }

    /**
     * {@code ids} checked as ext_authz client identities: each must be a reserved AttestMesh SPIFFE ID
     * ({@code spiffe://<td>/attestmesh/...}), the only kind an operator-issued client certificate carries.
     * Attested nodes need no listing (their node certificate admits them), and any other ID could be
     * earned by attesting, so it is refused.
     *
     * @throws IllegalArgumentException naming the first identity that is not one
     */
    public static Set<String> checkedClientIdentities(Collection<String> ids) {
        Set<String> out = new LinkedHashSet<>();
        for (String id : ids) {
            SpiffeId parsed;
            try {
                parsed = SpiffeId.parse(id);
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("ext_authz client identity '" + UntrustedText.quote(id)
                        + "' is not a SPIFFE ID: " + e.getMessage(), e);
            }
            if (!ReservedIdentities.isReserved(parsed)) {
                throw new IllegalArgumentException("ext_authz client identity '" + id + "' is not a reserved "
                        + "identity: list operator-issued client certificates (spiffe://" + parsed.trustDomain()
                        + "/attestmesh/..., from 'attestmesh ca issue-client'); attested nodes need no listing");
            }
            out.add(parsed.uri());
        }
        return Set.copyOf(out);
    }

    /** Parses a comma-separated list, as in {@code attestmesh.authz.client-identities}; blanks are skipped. */
    public static Set<String> parseClientIdentities(String commaSeparated) {
        Set<String> out = new LinkedHashSet<>();
        for (String s : commaSeparated.split(",")) {
            if (!s.isBlank()) {
                out.add(s.strip());
            }
        }
        return checkedClientIdentities(out);
    }

    @Override
    public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers,
            ServerCallHandler<Q, R> next) {
        Attributes attrs = call.getAttributes();
        Slot slot = attrs.get(SLOT);
        long now = clock.millis();
        long asOf = stamps.asOf(); // read before judging: a change meanwhile makes the verdict re-judged
        Verdict v = slot == null ? null : slot.verdict;
        if (v == null || now >= v.recheckAtMillis() || !stamps.unchangedSince(v.stripe(), v.asOf())) {
            v = plaintext ? judgeHostLocal(attrs, asOf) : judgeCertificate(attrs, now, asOf, slot);
            if (slot != null) {
                slot.verdict = v;
            }
        }
        if (v.refusal() == null) {
            return next.startCall(call, headers);
        }
        call.close(v.refusal(), new Metadata());
        return new ServerCall.Listener<>() {};
    }

    private Verdict judgeHostLocal(Attributes attrs, long asOf) {
        SocketAddress remote = attrs.get(Grpc.TRANSPORT_ATTR_REMOTE_ADDR);
        boolean local;
        if (remote instanceof InetSocketAddress inet) {
            InetAddress address = inet.getAddress();
            local = address != null && address.isLoopbackAddress();
        } else {
            local = remote != null; // in-process and Unix domain socket transports never leave the host
        }
        if (!local) {
            LOG.debug("ext_authz Check refused: plaintext caller {} is not on this host", remote);
        }
        return new Verdict(local ? null : NOT_HOST_LOCAL, ChangeStamps.NONE, asOf, Long.MAX_VALUE);
    }

    private Verdict judgeCertificate(Attributes attrs, long nowMillis, long asOf, Slot slot) {
        X509Certificate leaf = peerLeaf(attrs.get(Grpc.TRANSPORT_ATTR_SSL_SESSION));
        if (leaf == null) {
            LOG.debug("ext_authz Check refused: {} presented no client certificate",
                    attrs.get(Grpc.TRANSPORT_ATTR_REMOTE_ADDR));
            return new Verdict(NO_CLIENT_CERTIFICATE, ChangeStamps.NONE, asOf, Long.MAX_VALUE); // never gains one
        }
        Instant now = Instant.ofEpochMilli(nowMillis);
        Judged judged = leaf.getExtensionValue(AttestMeshOids.CLAIMS_EXTENSION) != null ? judgeNode(leaf, now)
                : new Judged(clientProblem(leaf, now), null); // reads the trust bundle only: a change of everything
        String problem = judged.problem();
        int stripe = judged.nodeId() == null ? ChangeStamps.NONE : ChangeStamps.nodeStripe(judged.nodeId());
        if (problem == null) {
            long until = Math.min(leaf.getNotAfter().getTime(), nowMillis + ACCEPTED_RECHECK_MILLIS);
            return new Verdict(null, stripe, asOf, until);
        }
        String reason = UntrustedText.bound(problem);
        if (slot == null || !reason.equals(slot.lastLogged)) { // once per connection and reason
            LOG.warn("ext_authz Check refused for the client at {}: {}", attrs.get(Grpc.TRANSPORT_ATTR_REMOTE_ADDR),
                    reason);
            if (slot != null) {
                slot.lastLogged = reason;
            }
        }
        return new Verdict(NOT_A_CHECK_CLIENT, stripe, asOf, nowMillis + REFUSED_RECHECK_MILLIS);
    }

    /** Why a caller may not call Check (null when it may), and the node whose registry record that read (or null). */
    private record Judged(String problem, String nodeId) {}

    /** Judges a node leaf as a caller. */
    private Judged judgeNode(X509Certificate leaf, Instant now) {
        return switch (nodes.verify(leaf, now)) {
            case NodeCertificateVerifier.Refused r -> new Judged("node certificate refused: " + r.reason(), r.nodeId());
            case NodeCertificateVerifier.Verified v -> new Judged(!allowInsecure
                    && (v.certificate().claims().insecure() || RecordChecks.isInsecure(v.record()))
                    ? "node '" + v.record().nodeId() + "' " + RecordChecks.INSECURE : null, v.record().nodeId());
        };
    }

    /** Why an operator-issued client certificate may not call Check, null when it may. */
    private String clientProblem(X509Certificate leaf, Instant now) {
        return switch (ReservedClientCertificates.verify(leaf, view.trustBundle(), now)) {
            case ReservedClientCertificates.Refused r -> r.reason();
            case ReservedClientCertificates.Accepted a -> clientIdentities.contains(a.id().uri()) ? null
                    : a.id().uri() + " is not an ext_authz client identity; list it in "
                            + "attestmesh.authz.client-identities (attestmesh authz --authz-client-identity)";
        };
    }

    private static X509Certificate peerLeaf(SSLSession session) {
        if (session == null) {
            return null;
        }
        try {
            Certificate[] chain = session.getPeerCertificates();
            return chain.length > 0 && chain[0] instanceof X509Certificate x ? x : null;
        } catch (SSLPeerUnverifiedException e) {
            return null;
        }
    }

    /** A connection's verdict and what was last logged about it. */
    private static final class Slot {
        volatile Verdict verdict;
        volatile String lastLogged;
    }

    /**
     * @param refusal the status to close calls with, null when they may proceed
     * @param stripe the {@linkplain ChangeStamps stripe} of the node record it read, {@link ChangeStamps#NONE} if none
     * @param asOf the registry change number it was judged at
     * @param recheckAtMillis when it must be judged again regardless
     */
    private record Verdict(Status refusal, int stripe, long asOf, long recheckAtMillis) {}
}

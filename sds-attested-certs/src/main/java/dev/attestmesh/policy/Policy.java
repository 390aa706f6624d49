package dev.attestmesh.policy;

import dev.attestmesh.quote.TcbStatus;
import dev.attestmesh.quote.TeeType;
import java.time.Duration;
import java.util.Collections;
import java.util.EnumMap;
import java.util.EnumSet;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Pattern;

/**
 * An attestation policy: what evidence must show for a node to hold policy ID {@link #id()}.
 * Immutable and validated on construction; {@link PolicyDocuments} builds policies from files and
 * reports every problem at once.
 *
 * @param id policy ID, {@code [a-z0-9][a-z0-9._-]{0,62}}
 * @param version policy version (>= 1); a change bumps it, invalidating earlier appraisals
 * @param tees accepted TEE types; {@code sim} must be listed explicitly to accept simulated evidence
 * @param acceptedTcbStatuses accepted platform TCB statuses
 * @param acceptedAdvisoryIds advisory IDs tolerated on the matched TCB level
 * @param allowDebug whether debug-mode TEEs are accepted
 * @param reference reference values per TEE type (a TEE without an entry has no reference checks)
 * @param maxEvidenceAge oldest evidence (by verification time) still accepted
 * @param certificateTtl lifetime of certificates issued under this policy
 * @param sealing whether the policy has an HPKE sealing key pair whose private key is released only to nodes
 *     satisfying it (docs/secrets.md, "Sealing to a policy")
 * @param delegated present for {@code verifier: trustee}: a Trustee attestation service appraises the
 *     evidence and this policy's rules apply to its token's claims (docs/trustee.md); empty for the
 *     control plane's own verifiers
 */
public record Policy(String id, long version, Set<TeeType> tees, Set<TcbStatus> acceptedTcbStatuses,
        Set<String> acceptedAdvisoryIds, boolean allowDebug, Map<TeeType, ReferenceValues> reference,
        Duration maxEvidenceAge, Duration certificateTtl, boolean sealing, Optional<DelegatedVerifier> delegated) {

    /** A policy verified by this control plane's own verifiers. */
    public Policy(String id, long version, Set<TeeType> tees, Set<TcbStatus> acceptedTcbStatuses,
            Set<String> acceptedAdvisoryIds, boolean allowDebug, Map<TeeType, ReferenceValues> reference,
            Duration maxEvidenceAge, Duration certificateTtl, boolean sealing) {
        this(id, version, tees, acceptedTcbStatuses, acceptedAdvisoryIds, allowDebug, reference, maxEvidenceAge,
                certificateTtl, sealing, Optional.empty());
    }

    /** A policy without a sealing key. */
    public Policy(String id, long version, Set<TeeType> tees, Set<TcbStatus> acceptedTcbStatuses,
            Set<String> acceptedAdvisoryIds, boolean allowDebug, Map<TeeType, ReferenceValues> reference,
            Duration maxEvidenceAge, Duration certificateTtl) {
        this(id, version, tees, acceptedTcbStatuses, acceptedAdvisoryIds, allowDebug, reference, maxEvidenceAge,
                certificateTtl, false);
    }

    /** Policy ID syntax. */
    public static final Pattern ID = Pattern.compile("[a-z0-9][a-z0-9._-]{0,62}");
    public static final Duration DEFAULT_MAX_EVIDENCE_AGE = Duration.ofHours(24);
    public static final Duration DEFAULT_CERTIFICATE_TTL = Duration.ofHours(1);

    public Policy {
        Objects.requireNonNull(id, "id");
        if (!ID.matcher(id).matches()) {
            throw new IllegalArgumentException("policy id '" + id + "' must match " + ID.pattern());
        }
        if (version < 1) {
            throw new IllegalArgumentException("policy '" + id + "' version must be >= 1, got " + version);
        }
        if (tees.isEmpty()) {
            throw new IllegalArgumentException("policy '" + id + "' accepts no TEE type");
        }
        tees = Collections.unmodifiableSet(EnumSet.copyOf(tees));
        if (acceptedTcbStatuses.isEmpty()) {
            throw new IllegalArgumentException("policy '" + id + "' accepts no TCB status");
        }
        acceptedTcbStatuses = Collections.unmodifiableSet(EnumSet.copyOf(acceptedTcbStatuses));
        acceptedAdvisoryIds = Collections.unmodifiableSortedSet(new TreeSet<>(acceptedAdvisoryIds));
        EnumMap<TeeType, ReferenceValues> ref = new EnumMap<>(TeeType.class);
        ref.putAll(reference);
        for (TeeType t : ref.keySet()) {
            if (!tees.contains(t)) {
                throw new IllegalArgumentException("policy '" + id + "' has reference values for " + t.wireName()
                        + " but does not accept " + t.wireName());
            }
        }
        reference = Collections.unmodifiableMap(ref);
        if (maxEvidenceAge.isNegative() || maxEvidenceAge.isZero()) {
            throw new IllegalArgumentException("policy '" + id + "' maxEvidenceAge must be positive");
        }
        if (certificateTtl.isNegative() || certificateTtl.isZero()) {
            throw new IllegalArgumentException("policy '" + id + "' certificateTtl must be positive");
        }
        Objects.requireNonNull(delegated, "delegated");
    }

    /** The same policy at another version. */
    public Policy withVersion(long v) {
        return new Policy(id, v, tees, acceptedTcbStatuses, acceptedAdvisoryIds, allowDebug, reference, maxEvidenceAge,
                certificateTtl, sealing, delegated);
    }

    /** The same policy with another certificate lifetime. */
    public Policy withCertificateTtl(Duration ttl) {
        return new Policy(id, version, tees, acceptedTcbStatuses, acceptedAdvisoryIds, allowDebug, reference,
                maxEvidenceAge, ttl, sealing, delegated);
    }

    /** This policy's reference values for {@code tee}, empty when none are configured. */
    public ReferenceValues referenceFor(TeeType tee) {
        return reference.getOrDefault(tee, ReferenceValues.none());
    }

    public PolicyRef ref() {
        return new PolicyRef(id, version);
    }
}

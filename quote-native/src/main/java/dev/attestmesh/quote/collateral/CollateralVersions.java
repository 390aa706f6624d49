package dev.attestmesh.quote.collateral;

import java.math.BigInteger;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * The versions of a collateral bundle's four items, any of which may be unknown (a provider that could
 * not supply that item). Compared item by item to decide whether collateral sent with a request is at
 * least as recent as what the configured provider holds.
 *
 * <p>Why: TCB Info, QE Identity and CRLs stay inside their validity window for weeks. Without this
 * floor a platform could keep presenting the TCB Info from before an Intel TCB recovery, or the PCK CRL
 * from before its own revocation, and pass.
 */
public record CollateralVersions(Optional<CollateralVersion> tcbInfo, Optional<CollateralVersion> qeIdentity,
        Optional<CollateralVersion> pckCrl, Optional<CollateralVersion> rootCaCrl) {
    /** Nothing known: no floor. */
    public static final CollateralVersions NONE =
            new CollateralVersions(Optional.empty(), Optional.empty(), Optional.empty(), Optional.empty());

    public CollateralVersions {
        Objects.requireNonNull(tcbInfo, "tcbInfo");
        Objects.requireNonNull(qeIdentity, "qeIdentity");
        Objects.requireNonNull(pckCrl, "pckCrl");
        Objects.requireNonNull(rootCaCrl, "rootCaCrl");
    }

    /**
     * Why these versions (of supplied collateral) are older than {@code floor} (the provider's): the
     * first item found older, in the order TCB Info, QE Identity, PCK CRL, Root CA CRL; empty when no
     * item is older. Items unknown on either side are not compared.
     */
    public Optional<String> olderThan(CollateralVersions floor) {
        List<Optional<String>> reasons = new ArrayList<>();
        reasons.add(compare(tcbInfo, floor.tcbInfo));
        reasons.add(compare(qeIdentity, floor.qeIdentity));
        reasons.add(compare(pckCrl, floor.pckCrl));
        reasons.add(compare(rootCaCrl, floor.rootCaCrl));
        return reasons.stream().flatMap(Optional::stream).findFirst();
    }

    /**
     * Why the TCB Info or QE Identity is below {@code minimum} tcbEvaluationDataNumber, or empty.
     *
     * @param whose "supplied" or "the provider's", for the message
     */
    public Optional<String> belowMinimum(int minimum, String whose) {
        for (Optional<CollateralVersion> v : List.of(tcbInfo, qeIdentity)) {
            if (v.isPresent() && v.get().number().isPresent()
                    && v.get().number().get().compareTo(BigInteger.valueOf(minimum)) < 0) {
                return Optional.of(whose + " " + v.get().kind().item() + " tcbEvaluationDataNumber "
                        + v.get().number().get() + " is below the configured minimum " + minimum);
            }
        }
        return Optional.empty();
    }

    private static Optional<String> compare(Optional<CollateralVersion> supplied, Optional<CollateralVersion> floor) {
        if (supplied.isEmpty() || floor.isEmpty()) {
            return Optional.empty();
        }
        return supplied.get().olderThan(floor.get());
    }
}

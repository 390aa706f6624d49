package dev.attestmesh.quote.collateral;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.math.BigInteger;
import java.time.Instant;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class CollateralVersionsTest {
    private static final Instant EARLY = Instant.parse("2025-06-01T00:00:00Z");
    private static final Instant LATE = Instant.parse("2025-07-01T00:00:00Z");

    private static CollateralVersion crl(Long number, Instant thisUpdate) {
        return new CollateralVersion(CollateralVersion.Kind.PCK_CRL,
                Optional.ofNullable(number).map(BigInteger::valueOf), thisUpdate);
    }

    @Test
    void aHigherNumberIsNewerWhateverItsDate() {
        assertEquals(Optional.empty(), crl(3L, EARLY).olderThan(crl(2L, LATE)));
        assertEquals(Optional.of("supplied PCK CRL CRL number 2 is older than the provider's 3"),
                crl(2L, LATE).olderThan(crl(3L, EARLY)));
    }

    @Test
    void withoutANumberOnEitherSideTheIssueTimeDecides() {
        assertEquals(Optional.of("supplied PCK CRL thisUpdate 2025-06-01T00:00:00Z is older than the provider's "
                + "2025-07-01T00:00:00Z"), crl(null, EARLY).olderThan(crl(5L, LATE)));
        assertEquals(Optional.empty(), crl(1L, LATE).olderThan(crl(null, EARLY)));
        assertEquals(Optional.empty(), crl(null, LATE).olderThan(crl(null, LATE)), "equal is not older");
    }

    @Test
    void unknownItemsAreNotComparedAndTheFirstOlderItemIsNamed() {
        CollateralVersion tcb17 = new CollateralVersion(CollateralVersion.Kind.TCB_INFO, Optional.of(BigInteger.valueOf(17)), LATE);
        CollateralVersion tcb18 = new CollateralVersion(CollateralVersion.Kind.TCB_INFO, Optional.of(BigInteger.valueOf(18)), EARLY);
        CollateralVersions supplied = new CollateralVersions(Optional.of(tcb17), Optional.empty(),
                Optional.of(crl(1L, EARLY)), Optional.empty());
        assertEquals(Optional.empty(), supplied.olderThan(CollateralVersions.NONE));
        CollateralVersions provider = new CollateralVersions(Optional.of(tcb18), Optional.empty(),
                Optional.of(crl(1L, LATE)), Optional.empty());
        assertEquals(Optional.of("supplied TCB Info tcbEvaluationDataNumber 17 is older than the provider's 18"),
                supplied.olderThan(provider));
        assertEquals(Optional.of("the provider's TCB Info tcbEvaluationDataNumber 17 is below the configured minimum 18"),
                supplied.belowMinimum(18, "the provider's"));
        assertEquals(Optional.empty(), supplied.belowMinimum(17, "supplied"));
    }

    @Test
    void versionsOfDifferentItemsAreNotComparable() {
        CollateralVersion qe = new CollateralVersion(CollateralVersion.Kind.QE_IDENTITY, Optional.empty(), EARLY);
        assertThrows(IllegalArgumentException.class, () -> qe.olderThan(crl(1L, EARLY)));
    }
}

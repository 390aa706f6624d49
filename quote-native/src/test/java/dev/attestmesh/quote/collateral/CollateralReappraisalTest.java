package dev.attestmesh.quote.collateral;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.attestmesh.quote.EvidenceVerifiers;
import dev.attestmesh.quote.TcbStatus;
import dev.attestmesh.quote.TeeType;
import dev.attestmesh.quote.VerificationRequest;
import dev.attestmesh.quote.VerifiedEvidence;
import dev.attestmesh.quote.Verifiers;
import dev.attestmesh.quote.intel.IntelVectors;
import dev.attestmesh.quote.limits.FetchLimits;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/**
 * A real TCB recovery on one FMSPC: Alibaba's TDX v5 quote (FMSPC 90C06F000000) is UpToDate under the
 * 2025-06 collateral (Automata) and OutOfDate under the 2026-02 collateral (dcap-qvl, evaluation number
 * 18). Both are genuine Intel-signed collateral, so nothing is forged: the source is swapped and the
 * cache must announce the change and the stored claims must be judged again.
 */
class CollateralReappraisalTest {
    private static final Instant ATTESTED = Instant.ofEpochSecond(1749945600); // 2025-06-15
    private static final Instant LATER = Instant.ofEpochSecond(1771500000);    // 2026-02-19

    /** A collateral source whose content the test swaps. */
    private static final class SwappableSource implements CollateralProvider {
        final AtomicReference<QuoteCollateral> current;

        SwappableSource(QuoteCollateral c) {
            current = new AtomicReference<>(c);
        }

        @Override
        public SignedCollateral tcbInfo(TeeType tee, String fmspc) {
            return current.get().tcbInfo();
        }

        @Override
        public SignedCollateral qeIdentity(TeeType tee) {
            return current.get().qeIdentity();
        }

        @Override
        public PckCrl pckCrl(PckCa ca) {
            return current.get().pckCrl();
        }

        @Override
        public PckCrl pckCrl(PckCa ca, X509Certificate verifiedCa) {
            return current.get().pckCrl();
        }

        @Override
        public RootCaCrl rootCaCrl() {
            return current.get().rootCaCrl();
        }
    }

    private static final class MutableClock extends Clock {
        volatile Instant now;

        MutableClock(Instant now) {
            this.now = now;
        }

        @Override
        public java.time.ZoneId getZone() {
            return ZoneOffset.UTC;
        }

        @Override
        public Clock withZone(java.time.ZoneId zone) {
            return this;
        }

        @Override
        public Instant instant() {
            return now;
        }
    }

    private static QuoteCollateral older() throws Exception {
        return IntelVectors.pcsCollateral("tdx/automata-tdx-v5/tcbinfov3_90C06F000000.json",
                "tdx/automata-tdx-v5/qe_td.json", "tdx/automata-tdx-v5/platformCrl_0625.der",
                "roots/automata/rootCrlDer.der");
    }

    private static QuoteCollateral newer() throws Exception {
        return IntelVectors.dcapQvlCollateral("tdx/dcap-qvl-tdx-outdated/tdx_quote_outdated_collateral.json");
    }

    private static EvidenceVerifiers verifiers(SwappableSource source, MutableClock clock) {
        return Verifiers.builder()
                .intelRoot(IntelVectors.dir().resolve("roots/automata/rootCaDer.der"))
                .intelTcbSigning(List.of(renewed()))
                .intelCollateral(source)
                .cacheCollateral(true)
                .collateralLimits(0, 8L << 20, new FetchLimits(50, 50, Duration.ofSeconds(1)))
                .clock(clock)
                .build();
    }

    private static X509Certificate renewed() {
        try {
            return IntelVectors.renewedSigningCert();
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    @Test
    void newerTcbInfoOnTheNodesFmspcIsAnnouncedAndTheStoredClaimsBecomeOutOfDate() throws Exception {
        SwappableSource source = new SwappableSource(older());
        MutableClock clock = new MutableClock(ATTESTED);
        EvidenceVerifiers v = verifiers(source, clock);
        List<CollateralChange> seen = new CopyOnWriteArrayList<>();
        v.collateralChanges().subscribe(seen::add);

        VerifiedEvidence stored = v.verify(VerificationRequest.of(TeeType.TDX,
                IntelVectors.bytes("tdx/automata-tdx-v5/alibaba_quote_5.dat"), ATTESTED));
        assertEquals(TcbStatus.UP_TO_DATE, stored.tcbStatus());
        assertTrue(stored.reappraisalInputs().isPresent(), "the PCK chain and QE report are kept for re-judging");

        // The TCB recovery: the source now serves the 2026 collateral; the refresh finds it.
        source.current.set(newer());
        clock.now = LATER;
        v.collateralChanges().refresh();
        assertTrue(v.collateralChanges().awaitDelivered(10, TimeUnit.SECONDS));
        assertTrue(seen.stream().anyMatch(c -> c.item().startsWith("TCB Info") && c.affects(stored)), seen.toString());

        VerifiedEvidence judged = v.reappraise(stored, LATER);
        assertEquals(TcbStatus.OUT_OF_DATE, judged.tcbStatus());
        assertTrue(judged.advisoryIds().contains("INTEL-SA-01036"), judged.advisoryIds().toString());
        assertEquals(stored.measurements(), judged.measurements(), "only the TCB judgement changes");
    }

    @Test
    void unchangedCollateralFetchedAgainAnnouncesNothing() throws Exception {
        SwappableSource source = new SwappableSource(older());
        MutableClock clock = new MutableClock(ATTESTED);
        EvidenceVerifiers v = verifiers(source, clock);
        List<CollateralChange> seen = new CopyOnWriteArrayList<>();
        v.collateralChanges().subscribe(seen::add);
        VerifiedEvidence stored = v.verify(VerificationRequest.of(TeeType.TDX,
                IntelVectors.bytes("tdx/automata-tdx-v5/alibaba_quote_5.dat"), ATTESTED));

        v.collateralChanges().refresh();
        v.collateralChanges().refresh();
        assertTrue(v.collateralChanges().awaitDelivered(10, TimeUnit.SECONDS));
        assertEquals(List.of(), seen);
        assertEquals(stored, v.reappraise(stored, ATTESTED));
    }
}

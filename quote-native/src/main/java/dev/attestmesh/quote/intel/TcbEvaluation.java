package dev.attestmesh.quote.intel;

import dev.attestmesh.quote.EvidenceVerificationException;
import dev.attestmesh.quote.TcbStatus;
import dev.attestmesh.quote.VerificationCheck;
import dev.attestmesh.quote.collateral.IsvSvnTcbLevel;
import dev.attestmesh.quote.collateral.QeIdentity;
import dev.attestmesh.quote.collateral.TcbInfo;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.TreeSet;

/**
 * Intel's TCB level matching, following the order of Intel's Quote Verification Library: the
 * platform level (SGX components and PCESVN from the PCK certificate; for TDX also TEE_TCB_SVN),
 * the TDX module identity, and the QE Identity level, converged into one status with the union of
 * their advisory IDs.
 *
 * @param status the final status
 * @param advisoryIds sorted, distinct
 */
record TcbEvaluation(TcbStatus status, List<String> advisoryIds) {

    /** TDX inputs: TEE_TCB_SVN, MRSIGNERSEAM and SEAMATTRIBUTES from the TD report. */
    record TdxInputs(byte[] teeTcbSvn, byte[] mrSignerSeam, byte[] seamAttributes) {}

    static TcbEvaluation evaluate(TcbInfo info, PckCertificateExtensions pck, Optional<TdxInputs> tdx, QeIdentity qeId,
            EnclaveReport qeReport) throws EvidenceVerificationException {
        TreeSet<String> advisories = new TreeSet<>();
        TcbInfo.Level level = platformLevel(info, pck, tdx);
        TcbStatus status = level.status();
        advisories.addAll(level.advisoryIds());
        if (tdx.isPresent()) {
            Optional<IsvSvnTcbLevel> module = tdxModule(info, tdx.get());
            if (module.isPresent()) {
                status = converge(status, module.get().status());
                advisories.addAll(module.get().advisoryIds());
            }
        }
        IsvSvnTcbLevel qe = qeLevel(qeId, qeReport);
        status = converge(status, qe.status());
        advisories.addAll(qe.advisoryIds());
        return new TcbEvaluation(status, List.copyOf(advisories));
    }

    /** The first (newest) level whose every component the platform meets or exceeds. */
    private static TcbInfo.Level platformLevel(TcbInfo info, PckCertificateExtensions pck, Optional<TdxInputs> tdx)
            throws EvidenceVerificationException {
        for (TcbInfo.Level l : info.tcbLevels()) {
            if (!atLeast(pck.sgxTcbComponents(), l.sgxComponents(), 0) || pck.pceSvn() < l.pceSvn()) {
                continue;
            }
            if (tdx.isPresent()) {
                if (l.tdxComponents().isEmpty()) {
                    continue;
                }
                byte[] svn = tdx.get().teeTcbSvn();
                // With a TDX module identity in use (TEE_TCB_SVN[1] > 0), bytes 0..1 are the module's
                // SVN and version, judged by the module identity instead (Intel QVL).
                int from = svn[1] != 0 && !info.tdxModuleIdentities().isEmpty() ? 2 : 0;
                if (!atLeast(unsigned(svn), l.tdxComponents().get(), from)) {
                    continue;
                }
            }
            return l;
        }
        throw new EvidenceVerificationException(VerificationCheck.TCB_LEVEL,
                "no TCB level of the TCB Info (FMSPC " + info.fmspc() + ", evaluation data number "
                        + info.tcbEvaluationDataNumber() + ") matches this platform's TCB components; "
                        + "the platform's TCB is not supported by Intel");
    }

    private static Optional<IsvSvnTcbLevel> tdxModule(TcbInfo info, TdxInputs tdx) throws EvidenceVerificationException {
        int isvSvn = tdx.teeTcbSvn()[0] & 0xff;
        int version = tdx.teeTcbSvn()[1] & 0xff;
        if (version == 0 || info.tdxModuleIdentities().isEmpty()) {
            if (info.tdxModule().isPresent()) {
                TcbInfo.TdxModule m = info.tdxModule().get();
                checkModule("TDX module", m.mrSigner(), m.attributes(), m.attributesMask(), tdx);
            }
            return Optional.empty();
        }
        String id = String.format("TDX_%02X", version);
        for (TcbInfo.TdxModuleIdentity mi : info.tdxModuleIdentities()) {
            if (mi.id().equalsIgnoreCase(id)) {
                checkModule("TDX module identity " + id, mi.mrSigner(), mi.attributes(), mi.attributesMask(), tdx);
                for (IsvSvnTcbLevel l : mi.tcbLevels()) {
                    if (l.isvSvn() <= isvSvn) {
                        return Optional.of(l);
                    }
                }
                throw new EvidenceVerificationException(VerificationCheck.TDX_MODULE,
                        "TDX module " + id + " SVN " + isvSvn + " is below every TCB level of its module identity");
            }
        }
        throw new EvidenceVerificationException(VerificationCheck.TDX_MODULE,
                "the TCB Info has no TDX module identity " + id + " for this TD's module version");
    }

    private static void checkModule(String what, byte[] mrSigner, byte[] attributes, byte[] mask, TdxInputs tdx)
            throws EvidenceVerificationException {
        if (!Arrays.equals(mrSigner, tdx.mrSignerSeam())) {
            throw new EvidenceVerificationException(VerificationCheck.TDX_MODULE,
                    "MRSIGNERSEAM does not match the " + what + " of the TCB Info");
        }
        if (!maskedEquals(tdx.seamAttributes(), mask, attributes)) {
            throw new EvidenceVerificationException(VerificationCheck.TDX_MODULE,
                    "SEAMATTRIBUTES do not match the " + what + " of the TCB Info under its mask");
        }
    }

    /** QE Identity: MRSIGNER, ISVPRODID, MISCSELECT and ATTRIBUTES under masks, then the ISVSVN level. */
    private static IsvSvnTcbLevel qeLevel(QeIdentity id, EnclaveReport qe) throws EvidenceVerificationException {
        if (!Arrays.equals(id.mrSigner(), qe.mrSigner())) {
            throw new EvidenceVerificationException(VerificationCheck.QE_IDENTITY, "the QE's MRSIGNER is not Intel's");
        }
        if (id.isvProdId() != qe.isvProdId()) {
            throw new EvidenceVerificationException(VerificationCheck.QE_IDENTITY,
                    "the QE's ISVPRODID " + qe.isvProdId() + " is not the QE Identity's " + id.isvProdId());
        }
        if ((qe.miscSelect() & id.miscSelectMask()) != (id.miscSelect() & id.miscSelectMask())) {
            throw new EvidenceVerificationException(VerificationCheck.QE_IDENTITY,
                    "the QE's MISCSELECT does not match the QE Identity under its mask");
        }
        if (!maskedEquals(qe.attributes(), id.attributesMask(), id.attributes())) {
            throw new EvidenceVerificationException(VerificationCheck.QE_IDENTITY,
                    "the QE's ATTRIBUTES do not match the QE Identity under its mask");
        }
        for (IsvSvnTcbLevel l : id.tcbLevels()) {
            if (l.isvSvn() <= qe.isvSvn()) {
                return l;
            }
        }
        // Intel QVL treats a QE below every level as revoked.
        return new IsvSvnTcbLevel(qe.isvSvn(), TcbStatus.REVOKED, List.of());
    }

    /** Intel QVL's convergence of the platform status with a QE or TDX module status. */
    static TcbStatus converge(TcbStatus platform, TcbStatus other) {
        return switch (other) {
            case REVOKED -> TcbStatus.REVOKED;
            case OUT_OF_DATE, OUT_OF_DATE_CONFIGURATION_NEEDED -> switch (platform) {
                case UP_TO_DATE, SW_HARDENING_NEEDED -> TcbStatus.OUT_OF_DATE;
                case CONFIGURATION_NEEDED, CONFIGURATION_AND_SW_HARDENING_NEEDED -> TcbStatus.OUT_OF_DATE_CONFIGURATION_NEEDED;
                default -> platform;
            };
            default -> platform;
        };
    }

    private static boolean atLeast(List<Integer> actual, List<Integer> required, int from) {
        for (int i = from; i < required.size(); i++) {
            if (actual.get(i) < required.get(i)) {
                return false;
            }
        }
        return true;
    }

    private static List<Integer> unsigned(byte[] b) {
        Integer[] out = new Integer[b.length];
        for (int i = 0; i < b.length; i++) {
            out[i] = b[i] & 0xff;
        }
        return Arrays.asList(out);
    }

    private static boolean maskedEquals(byte[] value, byte[] mask, byte[] expected) {
        if (value.length != mask.length || expected.length != mask.length) {
            return false;
        }
        for (int i = 0; i < mask.length; i++) {
            if ((value[i] & mask[i]) != (expected[i] & mask[i])) {
                return false;
            }
        }
        return true;
    }
}

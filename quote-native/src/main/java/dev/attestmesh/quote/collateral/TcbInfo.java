package dev.attestmesh.quote.collateral;

import com.fasterxml.jackson.databind.JsonNode;
import dev.attestmesh.quote.TcbStatus;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * Intel TCB Info (v2 or v3; SGX or TDX) for one FMSPC. Only meaningful once its signature has been
 * verified.
 *
 * @param id {@code "SGX"} or {@code "TDX"} (v3); v2 documents have no id and report {@code "SGX"}
 * @param fmspc upper-case hex
 * @param pceId upper-case hex
 * @param tdxModule the TDX 1.0 module identity, TDX only
 * @param tdxModuleIdentities per-module identities ({@code TDX_01}, {@code TDX_03}...), TDX only
 * @param tcbLevels levels in Intel's order (newest first)
 */
public record TcbInfo(String id, int version, Instant issueDate, Instant nextUpdate, String fmspc, String pceId,
        int tcbEvaluationDataNumber, Optional<TdxModule> tdxModule, List<TdxModuleIdentity> tdxModuleIdentities,
        List<Level> tcbLevels) {

    private static final String WHAT = "TCB Info";
    /** Number of SGX and TDX TCB components in a TCB level (and CPUSVN / TEE_TCB_SVN bytes). */
    public static final int COMPONENTS = 16;

    public TcbInfo {
        tdxModuleIdentities = List.copyOf(tdxModuleIdentities);
        tcbLevels = List.copyOf(tcbLevels);
    }

    /**
     * One TCB level.
     *
     * @param sgxComponents 16 SVNs compared against the PCK certificate's SGX TCB components
     * @param pceSvn minimum PCESVN
     * @param tdxComponents 16 SVNs compared against TEE_TCB_SVN, TDX only
     */
    public record Level(List<Integer> sgxComponents, int pceSvn, Optional<List<Integer>> tdxComponents,
            Instant tcbDate, TcbStatus status, List<String> advisoryIds) {
        public Level {
            sgxComponents = List.copyOf(sgxComponents);
            tdxComponents = tdxComponents.map(List::copyOf);
            advisoryIds = List.copyOf(advisoryIds);
        }
    }

    /** TDX 1.0 module identity: MRSIGNERSEAM and SEAMATTRIBUTES under a mask. */
    public record TdxModule(byte[] mrSigner, byte[] attributes, byte[] attributesMask) {}

    /** A TDX module identity ({@code TDX_%02X} of the module's major version) with its own levels. */
    public record TdxModuleIdentity(String id, byte[] mrSigner, byte[] attributes, byte[] attributesMask,
            List<IsvSvnTcbLevel> tcbLevels) {
        public TdxModuleIdentity {
            tcbLevels = List.copyOf(tcbLevels);
        }
    }

    /** Parses the exact {@code tcbInfo} body bytes. */
    public static TcbInfo parse(byte[] body) throws CollateralParseException {
        JsonNode n = CollateralJson.tree(body, WHAT);
        int version = CollateralJson.integer(n, "version", WHAT);
        String id = version >= 3 ? CollateralJson.text(n, "id", WHAT) : "SGX";
        boolean tdx = "TDX".equals(id);
        Optional<TdxModule> module = Optional.empty();
        List<TdxModuleIdentity> identities = new ArrayList<>();
        if (tdx) {
            JsonNode m = n.get("tdxModule");
            if (m != null) {
                module = Optional.of(new TdxModule(CollateralJson.hex(m, "mrsigner", 48, WHAT),
                        CollateralJson.hex(m, "attributes", 8, WHAT), CollateralJson.hex(m, "attributesMask", 8, WHAT)));
            }
            JsonNode ids = n.get("tdxModuleIdentities");
            if (ids != null) {
                for (JsonNode i : CollateralJson.array(n, "tdxModuleIdentities", WHAT)) {
                    identities.add(new TdxModuleIdentity(CollateralJson.text(i, "id", WHAT),
                            CollateralJson.hex(i, "mrsigner", 48, WHAT), CollateralJson.hex(i, "attributes", 8, WHAT),
                            CollateralJson.hex(i, "attributesMask", 8, WHAT),
                            CollateralJson.isvSvnLevels(i, WHAT + " TDX module identity")));
                }
            }
        }
        List<Level> levels = new ArrayList<>();
        for (JsonNode l : CollateralJson.array(n, "tcbLevels", WHAT)) {
            JsonNode tcb = CollateralJson.field(l, "tcb", WHAT + " TCB level");
            List<Integer> sgx = version >= 3 ? svns(CollateralJson.array(tcb, "sgxtcbcomponents", WHAT), "SGX")
                    : v2Components(tcb);
            Optional<List<Integer>> tdxComps = tdx
                    ? Optional.of(svns(CollateralJson.array(tcb, "tdxtcbcomponents", WHAT), "TDX"))
                    : Optional.empty();
            levels.add(new Level(sgx, CollateralJson.integer(tcb, "pcesvn", WHAT), tdxComps,
                    CollateralJson.instant(l, "tcbDate", WHAT), CollateralJson.status(l, WHAT),
                    CollateralJson.advisoryIds(l, WHAT)));
        }
        if (levels.isEmpty()) {
            throw new CollateralParseException("TCB Info has no TCB levels");
        }
        return new TcbInfo(id, version, CollateralJson.instant(n, "issueDate", WHAT),
                CollateralJson.instant(n, "nextUpdate", WHAT), CollateralJson.text(n, "fmspc", WHAT).toUpperCase(java.util.Locale.ROOT),
                CollateralJson.text(n, "pceId", WHAT).toUpperCase(java.util.Locale.ROOT),
                n.has("tcbEvaluationDataNumber") ? CollateralJson.integer(n, "tcbEvaluationDataNumber", WHAT) : 0,
                module, identities, levels);
    }

    private static List<Integer> svns(JsonNode arr, String kind) throws CollateralParseException {
        if (arr.size() != COMPONENTS) {
            throw new CollateralParseException("TCB Info " + kind + " component count mismatch: "
                    + arr.size() + " instead of " + COMPONENTS);
        }
        List<Integer> out = new ArrayList<>(COMPONENTS);
        for (JsonNode c : arr) {
            out.add(CollateralJson.integer(c, "svn", WHAT + " " + kind + " component"));
        }
        return out;
    }

    private static List<Integer> v2Components(JsonNode tcb) throws CollateralParseException {
        List<Integer> out = new ArrayList<>(COMPONENTS);
        for (int i = 1; i <= COMPONENTS; i++) {
            out.add(CollateralJson.integer(tcb, String.format("sgxtcbcomp%02dsvn", i), WHAT));
        }
        return out;
    }
}

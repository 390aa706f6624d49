package dev.attestmesh.policy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.attestmesh.quote.TcbStatus;
import dev.attestmesh.quote.TeeType;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PolicyDocumentsTest {
    static final String SIM_M = "aa".repeat(48);
    static final String MRTD = "11".repeat(48);

    static final String FULL = """
            policies:
              - id: default
                tee: [sim]
                reference:
                  sim:
                    measurement: ["%s"]
              - id: production
                version: 4
                tee: [tdx, snp, sgx]
                tcbStatus: [UpToDate, SWHardeningNeeded]
                advisoryIds: [INTEL-SA-00615]
                debug: false
                maxEvidenceAge: 1h30m
                certificateTtl: 15m
                reference:
                  tdx:
                    mrtd: ["%s"]
                    minimum:
                      tee_tcb_svn: "03000600000000000000000000000000"
                    masked:
                      td_attributes: {expected: 0x0, mask: 0x10000000}
                  snp:
                    measurement: ["%s"]
                    minimum: {reported_tcb.snp: 8, guest_svn: 1}
                    masked: {policy: {expected: "0x30000", mask: "0xffffffffffffffff"}}
                  sgx:
                    mrsigner: ["%s"]
                    isvprodid: [1, 2]
                    minimum: {isvsvn: 2}
            """.formatted(SIM_M, MRTD.toUpperCase(), "22".repeat(48), "33".repeat(32));

    @Test
    void parsesFullDocumentWithDefaults() throws Exception {
        List<Policy> ps = PolicyDocuments.parse(FULL, "test.yaml");
        Policy d = ps.get(0);
        assertEquals("default", d.id());
        assertEquals(1, d.version());
        assertEquals(Set.of(TeeType.SIM), d.tees());
        assertEquals(Set.of(TcbStatus.UP_TO_DATE), d.acceptedTcbStatuses());
        assertFalse(d.allowDebug());
        assertEquals(Duration.ofHours(24), d.maxEvidenceAge());
        assertEquals(Duration.ofHours(1), d.certificateTtl());
        assertEquals(Set.of(SIM_M), d.referenceFor(TeeType.SIM).allowedValues().get("measurement"));

        Policy p = ps.get(1);
        assertEquals(4, p.version());
        assertEquals(Duration.ofMinutes(90), p.maxEvidenceAge());
        assertEquals(Duration.ofMinutes(15), p.certificateTtl());
        assertEquals(Set.of("INTEL-SA-00615"), p.acceptedAdvisoryIds());
        ReferenceValues tdx = p.referenceFor(TeeType.TDX);
        assertEquals(Set.of(MRTD), tdx.allowedValues().get("mrtd"), "hex normalized to lower case");
        assertEquals(Optional.of("03000600000000000000000000000000"), tdx.minimumTeeTcbSvn());
        assertEquals(new MaskedValue(0, 0x10000000L), tdx.masked().get("td_attributes"));
        ReferenceValues snp = p.referenceFor(TeeType.SNP);
        assertEquals(8L, snp.minimums().get("reported_tcb.snp"));
        assertEquals(new MaskedValue(0x30000, -1L), snp.masked().get("policy"));
        assertEquals(Set.of(1L, 2L), p.referenceFor(TeeType.SGX).allowedNumbers().get("isvprodid"));
    }

    @Test
    void acceptsJson() throws Exception {
        String json = "{\"policies\":[{\"id\":\"j\",\"tee\":[\"sim\"],\"certificateTtl\":\"PT10M\"}]}";
        assertEquals(Duration.ofMinutes(10), PolicyDocuments.parse(json, "j.json").get(0).certificateTtl());
    }

    @Test
    void toYamlRoundTrips() throws Exception {
        List<Policy> ps = PolicyDocuments.parse(FULL, "test.yaml");
        assertEquals(ps, PolicyDocuments.parse(PolicyDocuments.toYaml(ps), "round-trip"));
    }

    @Test
    void listsEveryProblemWithItsPath() {
        String bad = """
                policies:
                  - id: Bad_ID
                    tee: [sim, quantum]
                    tcbStatus: [Fine]
                    debug: maybe
                    colour: blue
                    maxEvidenceAge: soon
                    reference:
                      sim:
                        measurement: ["aa", "%s", "zz%s"]
                      sgx:
                        mrenclave: ["%s"]
                  - id: dup
                    tee: [tdx]
                    reference:
                      tdx:
                        mrfoo: ["00"]
                        minimum: {mrtd: 1, tee_tcb_svn: "01"}
                        masked: {xfam: {expected: -1, mask: 3}, policy: {expected: 0, mask: 0}}
                  - id: dup
                    tee: [sim]
                """.formatted(SIM_M, "a".repeat(94), "ab".repeat(32));
        PolicyValidationException e = assertThrows(PolicyValidationException.class, () -> PolicyDocuments.parse(bad, "bad.yaml"));
        List<String> p = e.problems();
        assertHas(p, "policies[0].id: 'Bad_ID' must match");
        assertHas(p, "policies[0].tee[1]: unknown TEE type 'quantum'");
        assertHas(p, "policies[0].tcbStatus[0]: unknown TCB status 'Fine'");
        assertHas(p, "policies[0].debug: must be true or false");
        assertHas(p, "policies[0].colour: unknown field");
        assertHas(p, "policies[0].maxEvidenceAge: 'soon' is not a positive duration");
        assertHas(p, "policies[0].reference.sim.measurement[0]: not 96 hex digits (got 2)");
        assertHas(p, "policies[0].reference.sim.measurement[2]: not 96 hex digits (contains non-hex characters)");
        assertHas(p, "policies[0].reference.sgx: reference values for sgx but tee does not list it");
        assertHas(p, "policies[1].reference.tdx.mrfoo: unknown byte-string claim 'mrfoo' for tdx");
        assertHas(p, "policies[1].reference.tdx.minimum.mrtd: mrtd is a byte-string claim");
        assertHas(p, "policies[1].reference.tdx.minimum.tee_tcb_svn: not 32 hex digits");
        assertHas(p, "policies[1].reference.tdx.masked.xfam.expected: must be a non-negative integer");
        assertHas(p, "policies[1].reference.tdx.masked.policy: no masked claim 'policy' for tdx");
        assertHas(p, "policies[2].id: duplicate policy id 'dup'");
        assertTrue(e.getMessage().startsWith("bad.yaml: "));
    }

    @Test
    void rejectsStructuralProblems() {
        assertHas(assertThrows(PolicyValidationException.class, () -> PolicyDocuments.parse("[1,2]", "x")).problems(),
                "document must be a mapping");
        assertHas(assertThrows(PolicyValidationException.class, () -> PolicyDocuments.parse("policies: 3\nextra: 1", "x")).problems(),
                "policies: required, must be a list");
        assertHas(assertThrows(PolicyValidationException.class,
                () -> PolicyDocuments.parse("policies:\n  - id: a\n    id: b\n    tee: [sim]", "x")).problems(), "not valid YAML/JSON");
        assertHas(assertThrows(PolicyValidationException.class,
                () -> PolicyDocuments.parse("policies:\n  - id: a\n    tee: []\n", "x")).problems(), "policies[0].tee: must list at least one");
    }

    @Test
    void loadsFromFileAndReportsUnreadableFile(@TempDir Path dir) throws Exception {
        Path f = dir.resolve("p.yaml");
        Files.writeString(f, FULL);
        assertEquals(2, PolicyDocuments.load(f).size());
        assertHas(assertThrows(PolicyValidationException.class, () -> PolicyDocuments.load(dir.resolve("missing.yaml"))).problems(),
                "cannot read file");
    }

    @Test
    void parsesAndFormatsDurations() {
        assertEquals(Optional.of(Duration.ofDays(2).plusHours(3)), PolicyDocuments.parseDuration("2d3h"));
        assertEquals(Optional.of(Duration.ofSeconds(45)), PolicyDocuments.parseDuration("45s"));
        assertEquals(Optional.empty(), PolicyDocuments.parseDuration("3h2d"));
        assertEquals(Optional.empty(), PolicyDocuments.parseDuration("-PT1H"));
        assertEquals("1d1h1m1s", PolicyDocuments.formatDuration(Duration.ofSeconds(90061)));
        assertEquals("24h", PolicyDocuments.formatDuration(Duration.ofHours(24)).replace("1d", "24h"));
    }

    static void assertHas(List<String> problems, String fragment) {
        assertTrue(problems.stream().anyMatch(p -> p.contains(fragment)), "no problem containing '" + fragment + "' in " + problems);
    }
}

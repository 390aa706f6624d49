package dev.attestmesh.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.attestmesh.policy.Policy;
import dev.attestmesh.policy.PolicyDocuments;
import dev.attestmesh.policy.PolicyValidationException;
import dev.attestmesh.quote.EvidenceVerifier;
import dev.attestmesh.quote.TeeType;
import dev.attestmesh.relying.MeshManifest;
import dev.attestmesh.relying.MeshVerification;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintWriter;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.SecureRandom;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code attestmesh verify}: what a client runs before trusting the mesh CA (docs/relying-party.md). Sends
 * a fresh nonce to the control plane's unauthenticated statement endpoint, verifies the evidence with the
 * project's SGX/TDX/SNP verifiers, and runs every {@link MeshVerification} check; writes the verified trust
 * bundle to {@code --out} (atomically) only when all of them pass. Exit 0 verified, 1 refused (naming the
 * first failed check), 2 usage error.
 */
@Command(name = "verify", mixinStandardHelpOptions = true,
        description = "Verify the control plane's TEE statement and mesh manifest, then write the mesh trust bundle "
                + "(exit 0 verified, 1 refused, 2 usage error).")
final class VerifyCommand implements Callable<Integer> {
    private static final ObjectMapper JSON = new ObjectMapper();
    /** Largest statement or document accepted from the control plane. */
    static final int MAX_BODY_BYTES = 16 * 1024 * 1024;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Option(names = "--control-plane", required = true, description = "The control plane's admin URL, e.g. "
            + "http://cp.example:15014 (the statement is verified end to end; the transport need not be trusted).")
    URI controlPlane;

    @ArgGroup(exclusive = true, multiplicity = "1")
    Expectation expectation;

    static final class Expectation {
        @Option(names = "--expect-measurement", description = "The control plane's expected measurement, hex "
                + "(MRENCLAVE, MRTD or the SNP launch measurement).")
        String measurement;

        @Option(names = "--expect-policy", description = "A policy document (docs/policy.md) the control plane's "
                + "evidence must satisfy, every policy in it.")
        Path policy;
    }

    @Option(names = "--expect-manifest-digest", description = "Refuse unless the manifest's SHA-256 is this (hex).")
    String manifestDigest;

    @Option(names = "--allow-insecure-sim", description = "Accept a control plane in dev mode (simulated TEE). "
            + "INSECURE: its evidence proves nothing.")
    boolean allowInsecureSim;

    @Option(names = "--out", required = true, description = "Where to write the verified trust bundle (PEM).")
    Path out;

    /** {@code -o table|json|yaml}; {@code text}, its former name, still means {@code table}. */
    @CommandLine.Mixin
    OutputOptions output = new OutputOptions();

    @Option(names = "--timeout", description = "HTTP timeout per request, ISO-8601 or seconds (default 60).")
    String timeout = "60";

    @CommandLine.Mixin
    EvidenceSources sources = new EvidenceSources();

    @Override
    public Integer call() {
        String scheme = controlPlane.getScheme();
        if (scheme == null || !(scheme.equals("http") || scheme.equals("https")) || controlPlane.getHost() == null) {
            return usage("--control-plane must be an http(s) URL such as http://127.0.0.1:15014");
        }
        Optional<String> measurement = Optional.ofNullable(expectation.measurement).map(String::strip);
        if (measurement.isPresent() && !measurement.get().matches("[0-9a-fA-F]{2,256}")) {
            return usage("--expect-measurement must be hex");
        }
        if (manifestDigest != null && !manifestDigest.matches("[0-9a-fA-F]{64}")) {
            return usage("--expect-manifest-digest must be 64 hex digits");
        }
        List<Policy> policies = List.of();
        if (expectation.policy != null) {
            try {
                policies = PolicyDocuments.load(expectation.policy);
            } catch (PolicyValidationException e) {
                return usage("--expect-policy " + expectation.policy + ": " + e.getMessage());
            }
            if (policies.isEmpty()) {
                return usage("--expect-policy " + expectation.policy + " holds no policy");
            }
        }
        Duration perRequest;
        try {
            perRequest = timeout.startsWith("P") ? Duration.parse(timeout) : Duration.ofSeconds(Long.parseLong(timeout));
        } catch (RuntimeException e) {
            return usage("--timeout must be seconds or an ISO-8601 duration");
        }
        MeshVerification verification = new MeshVerification(new MeshVerification.Verifiers() {
            @Override
            public EvidenceVerifier verifier(TeeType tee) throws Exception {
                return sources.verifier(tee);
            }

            @Override
            public Optional<byte[]> suppliedCollateral(TeeType tee) throws IOException {
                return sources.suppliedCollateral(tee);
            }
        }, new MeshVerification.Expectations(measurement, policies, Optional.ofNullable(manifestDigest)
                .map(String::toLowerCase), allowInsecureSim), Instant.now());

        byte[] nonce = new byte[MeshManifest.NONCE_BYTES];
        new SecureRandom().nextBytes(nonce);
        String base = controlPlane.toString().replaceAll("/+$", "") + MeshManifest.WELL_KNOWN;
        MeshVerification.Report report;
        try (HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build()) {
            MeshVerification.Statement statement;
            try {
                statement = fetchStatement(http, base, nonce, perRequest);
            } catch (IOException e) {
                report = new MeshVerification.Report(List.of(new MeshVerification.Check("statement", false,
                        e.getMessage())), false, Optional.empty(), Optional.empty(), Optional.empty(), Optional.empty());
                return finish(report);
            }
            report = verification.verify(nonce, statement, (name, digest) -> get(http,
                    URI.create(base + "/documents/" + name + "?manifest=" + digest), perRequest));
        }
        if (report.verified()) {
            try {
                writeAtomically(out, report.trustBundlePem().orElseThrow());
            } catch (IOException e) {
                spec.commandLine().getErr().println("attestmesh verify: every check passed but " + out
                        + " could not be written: " + e.getMessage());
                return 1;
            }
        }
        return finish(report);
    }

    private MeshVerification.Statement fetchStatement(HttpClient http, String base, byte[] nonce, Duration timeout)
            throws IOException {
        byte[] body = get(http, URI.create(base + "/statement?nonce=" + HexFormat.of().formatHex(nonce)), timeout);
        try {
            JsonNode j = JSON.readTree(body);
            return new MeshVerification.Statement(j.path("version").asInt(), j.path("tee").asText(),
                    Base64.getDecoder().decode(j.path("evidence").asText()), HexFormat.of().parseHex(j.path("nonce").asText()),
                    Base64.getDecoder().decode(j.path("manifest").asText()), j.path("manifestSha256").asText());
        } catch (IllegalArgumentException | IOException e) {
            throw new IOException("the statement is not a well-formed v2 statement: " + e.getMessage());
        }
    }

    /** GET with a bounded body; a non-200 answer becomes an IOException carrying the server's error text. */
    static byte[] get(HttpClient http, URI uri, Duration timeout) throws IOException {
        HttpResponse<InputStream> r;
        try {
            r = http.send(HttpRequest.newBuilder(uri).timeout(timeout).GET().build(),
                    HttpResponse.BodyHandlers.ofInputStream());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted");
        } catch (IOException e) {
            throw new IOException("GET " + uri + " failed: " + e.getMessage(), e);
        }
        byte[] body;
        try (InputStream in = r.body()) {
            body = in.readNBytes(MAX_BODY_BYTES + 1);
        }
        if (body.length > MAX_BODY_BYTES) {
            throw new IOException("GET " + uri.getPath() + ": answer larger than " + MAX_BODY_BYTES + " bytes");
        }
        if (r.statusCode() != 200) {
            String text = new String(body, 0, Math.min(body.length, 2000), StandardCharsets.UTF_8);
            try {
                text = JSON.readTree(text).path("error").asText(text);
            } catch (IOException notJson) {
                // keep the raw text
            }
            throw new IOException("GET " + uri.getPath() + " answered HTTP " + r.statusCode() + ": "
                    + dev.attestmesh.input.UntrustedText.forLog(text, 1500));
        }
        return body;
    }

    /** Writes next to the target then renames, so {@code out} is either absent, the old file, or the whole bundle. */
    static void writeAtomically(Path out, String pem) throws IOException {
        Path dir = out.toAbsolutePath().getParent();
        Files.createDirectories(dir);
        Path tmp = Files.createTempFile(dir, "." + out.getFileName(), ".tmp");
        try {
            Files.writeString(tmp, pem, StandardCharsets.US_ASCII);
            Files.move(tmp, out, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } finally {
            Files.deleteIfExists(tmp);
        }
    }

    private int finish(MeshVerification.Report report) {
        output.print(spec.commandLine().getOut(), json(report), w -> w.print(text(report)));
        return report.verified() ? 0 : 1;
    }

    ObjectNode json(MeshVerification.Report report) {
        ObjectNode o = JSON.createObjectNode();
        o.put("verified", report.verified());
        o.put("controlPlane", controlPlane.toString());
        o.put("insecure", report.insecure());
        report.manifestSha256().ifPresentOrElse(d -> o.put("manifestSha256", d), () -> o.putNull("manifestSha256"));
        report.caKeySealing().ifPresentOrElse(d -> o.put("caKeySealing", d), () -> o.putNull("caKeySealing"));
        report.measurement().ifPresentOrElse(d -> o.put("measurement", d), () -> o.putNull("measurement"));
        ArrayNode checks = o.putArray("checks");
        for (String name : MeshVerification.CHECKS) {
            ObjectNode c = checks.addObject();
            c.put("name", name);
            Optional<MeshVerification.Check> done = report.checks().stream().filter(x -> x.name().equals(name)).findFirst();
            c.put("result", done.map(x -> x.passed() ? "pass" : "fail").orElse("not-run"));
            done.ifPresent(x -> c.put("detail", x.detail()));
        }
        report.firstFailure().ifPresentOrElse(f -> {
            ObjectNode ff = o.putObject("firstFailure");
            ff.put("check", f.name());
            ff.put("detail", f.detail());
        }, () -> o.putNull("firstFailure"));
        if (report.verified()) {
            o.put("out", out.toString());
        } else {
            o.putNull("out");
        }
        return o;
    }

    String text(MeshVerification.Report report) {
        StringBuilder sb = new StringBuilder("AttestMesh relying-party verification of ").append(controlPlane).append('\n');
        for (String name : MeshVerification.CHECKS) {
            Optional<MeshVerification.Check> done = report.checks().stream().filter(x -> x.name().equals(name)).findFirst();
            sb.append(String.format("  %-5s %-20s %s%n", done.map(x -> x.passed() ? "PASS" : "FAIL").orElse("-"), name,
                    done.map(MeshVerification.Check::detail).orElse("not run")));
        }
        report.caKeySealing().ifPresent(s -> sb.append("  CA key sealing: ").append(s).append('\n'));
        if (report.insecure()) {
            sb.append("WARNING: INSECURE: the control plane runs with the simulated TEE (dev mode); nothing above proves "
                    + "it runs in a real TEE\n");
        }
        if (report.verified()) {
            sb.append("RESULT: VERIFIED; trust bundle written to ").append(out).append('\n');
        } else {
            MeshVerification.Check f = report.firstFailure().orElseThrow();
            sb.append("RESULT: REFUSED at check '").append(f.name()).append("': ").append(f.detail())
                    .append("\nNo trust bundle was written.\n");
        }
        return sb.toString();
    }

    private int usage(String message) {
        spec.commandLine().getErr().println("attestmesh verify: " + message);
        return 2;
    }
}

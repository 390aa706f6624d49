package dev.attestmesh.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.attestmesh.ca.Pem;
import dev.attestmesh.issuance.Checkpoint;
import dev.attestmesh.issuance.CheckpointException;
import dev.attestmesh.issuance.CheckpointNotes;
import dev.attestmesh.issuance.CheckpointVerifier;
import dev.attestmesh.issuance.IssuanceLogEntry;
import dev.attestmesh.issuance.IssuanceLogVerifier;
import dev.attestmesh.issuance.LogAudit;
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
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code attestmesh log verify} checks the issuance log's hash chain, on the control plane or (with a
 * signed checkpoint) here, against the checkpoint; {@code attestmesh log checkpoint} fetches or signs a
 * checkpoint. See docs/issuance-log.md.
 */
@Command(name = "log", mixinStandardHelpOptions = true, description = "Issuance log operations.",
        subcommands = {LogCommand.Verify.class, LogCommand.CheckpointCommand.class})
final class LogCommand implements Runnable {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        throw new CommandLine.ParameterException(spec.commandLine(), "a subcommand is required: verify, checkpoint");
    }

    /** Where the checkpoint to verify against comes from: one of a file, a URL or the admin API. */
    static final class CheckpointSource {
        @Option(names = "--checkpoint", paramLabel = "FILE",
                description = "A signed checkpoint saved earlier (attestmesh log checkpoint --out FILE).")
        Path file;

        @Option(names = "--checkpoint-url", paramLabel = "URL",
                description = "Fetch the signed checkpoint from this http(s) URL (no credentials are sent).")
        URI url;

        @Option(names = "--latest-checkpoint",
                description = "Verify against the latest checkpoint the control plane stored.")
        boolean latest;
    }

    /**
     * Prints OK with the entry count, or the first broken entry (exit 1). With a checkpoint, verifies its
     * signature against the mesh root, then every entry read through the admin API here, and names a
     * truncation or rewrite (exit 1).
     */
    @Command(name = "verify", mixinStandardHelpOptions = true,
            description = {"Verify every hash and link of the issuance log; exit 1 when it is broken.",
                    "With a signed checkpoint, also verify that the log still holds every entry the checkpoint "
                            + "covers (truncation) and that they hash to its head (rewrite); the chain is then "
                            + "recomputed here, from entries read through the admin API."})
    static final class Verify implements Callable<Integer> {
        /** Bound on fetching a checkpoint from a URL. */
        static final Duration URL_TIMEOUT = Duration.ofSeconds(30);

        @Mixin
        AdminApiOptions admin;

        @ArgGroup(exclusive = true, multiplicity = "0..1")
        CheckpointSource checkpoint;

        @Option(names = "--ca-root", paramLabel = "FILE", description = "PEM file holding the mesh root CA to trust "
                + "(a CA bundle is fine: its self-signed certificate is used). Default: the root the admin API serves.")
        Path caRoot;

        @Mixin
        OutputOptions output;

        @CommandLine.Spec
        CommandLine.Model.CommandSpec spec;

        @Override
        public Integer call() throws Exception {
            PrintWriter out = spec.commandLine().getOut();
            AdminApiClient client = admin.client();
            if (checkpoint == null) {
                // -o json|yaml: the admin API's answer ({intact, entriesChecked, firstBrokenSequence?, problem?})
                JsonNode v = client.post("/api/v1/issuance-log/verify", "application/json", "");
                boolean intact = v.path("intact").asBoolean();
                output.print(out, v, o -> {
                    if (intact) {
                        o.printf("OK: issuance log intact, %d entries verified%n", v.path("entriesChecked").asLong());
                    } else {
                        o.printf("BROKEN: entry %d: %s (%d entries checked)%n", v.path("firstBrokenSequence").asLong(),
                                v.path("problem").asText(), v.path("entriesChecked").asLong());
                    }
                });
                return intact ? 0 : 1;
            }
            String note = readCheckpoint(client);
            JsonNode key = client.get("/api/v1/issuance-log/checkpoints/signing-key");
            java.security.cert.X509Certificate root;
            String rootSource;
            if (caRoot != null) {
                root = rootFrom(Files.readString(caRoot, StandardCharsets.US_ASCII), caRoot.toString());
                rootSource = "pinned with --ca-root";
            } else {
                root = rootFrom(key.path("rootCertificate").asText(), "the admin API's root certificate");
                rootSource = "as served by the admin API; pin it with --ca-root";
            }
            java.security.cert.X509Certificate signer = single(key.path("certificate").asText(), "the signing key certificate");
            Checkpoint c;
            try {
                c = CheckpointVerifier.forCertificate(signer, root).verify(note);
            } catch (CheckpointException e) {
                ObjectNode bad = AdminApiClient.JSON.createObjectNode().put("outcome", "BAD_CHECKPOINT")
                        .put("consistent", false).put("message", e.getMessage());
                output.print(out, bad, o -> o.printf("BAD CHECKPOINT: %s%n", e.getMessage()));
                return 1;
            }
            LogAudit audit = IssuanceLogVerifier.verifyAgainst((from, limit) -> page(client, from, limit), c);
            String verdict = switch (audit.outcome()) {
                case CONSISTENT -> "OK";
                case BROKEN_CHAIN -> "BROKEN: entry " + audit.sequence().orElse(0L);
                case REWRITTEN -> "REWRITTEN";
                case TRUNCATED -> "TRUNCATED";
            };
            output.print(out, auditJson(audit, c, key, rootSource), o -> {
                o.printf("%s: %s%n", verdict, audit.message());
                o.printf("  checkpoint: %s size %d head %s signed %s by %s (key ID %s); root CA sha256 %s (%s)%n",
                        c.origin(), c.size(), c.headHashHex(), c.timestamp(), key.path("keyName").asText(),
                        key.path("keyId").asText(), c.caRootSha256Hex(), rootSource);
            });
            return audit.consistent() ? 0 : 1;
        }

        /**
         * The {@code -o json|yaml} shape of a verification against a checkpoint (docs/operator-guide.md, "Output
         * formats"): {@code outcome} (CONSISTENT, BROKEN_CHAIN, REWRITTEN, TRUNCATED), {@code consistent}, {@code entriesChecked},
         * {@code sequence} (when one entry is named), {@code message}, and the {@code checkpoint} verified.
         */
        static ObjectNode auditJson(LogAudit audit, Checkpoint c, JsonNode key, String rootSource) {
            ObjectNode r = AdminApiClient.JSON.createObjectNode().put("outcome", audit.outcome().name())
                    .put("consistent", audit.consistent());
            audit.sequence().ifPresent(seq -> r.put("sequence", seq));
            r.put("entriesChecked", audit.entriesChecked()).put("message", audit.message());
            r.putObject("checkpoint").put("origin", c.origin()).put("size", c.size()).put("headHash", c.headHashHex())
                    .put("timestamp", c.timestamp().toString()).put("keyName", key.path("keyName").asText())
                    .put("keyId", key.path("keyId").asText()).put("caRootSha256", c.caRootSha256Hex())
                    .put("rootSource", rootSource);
            return r;
        }

        private String readCheckpoint(AdminApiClient client) throws IOException, CheckpointException,
                InterruptedException {
            if (checkpoint.file != null) {
                long size = Files.size(checkpoint.file);
                if (size > CheckpointNotes.MAX_NOTE_BYTES) {
                    throw new IllegalArgumentException("checkpoint file " + checkpoint.file + " is " + size
                            + " bytes; a checkpoint note is at most " + CheckpointNotes.MAX_NOTE_BYTES);
                }
                return CheckpointNotes.decodeUtf8(Files.readAllBytes(checkpoint.file));
            }
            if (checkpoint.url != null) {
                return fetch(checkpoint.url);
            }
            return client.get("/api/v1/issuance-log/checkpoints/latest").path("note").asText();
        }

        static String fetch(URI url) throws IOException, CheckpointException, InterruptedException {
            if (!"https".equals(url.getScheme()) && !"http".equals(url.getScheme())) {
                throw new IllegalArgumentException("--checkpoint-url must be an http or https URL, got " + url);
            }
            try (HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10))
                    .followRedirects(HttpClient.Redirect.NORMAL).build()) {
                HttpResponse<InputStream> r = http.send(HttpRequest.newBuilder(url).timeout(URL_TIMEOUT).GET().build(),
                        HttpResponse.BodyHandlers.ofInputStream());
                try (InputStream in = r.body()) {
                    byte[] body = in.readNBytes(CheckpointNotes.MAX_NOTE_BYTES + 1);
                    if (r.statusCode() != 200) {
                        throw new IllegalArgumentException("GET " + url + " answered " + r.statusCode());
                    }
                    return CheckpointNotes.decodeUtf8(body);
                }
            }
        }

        static java.security.cert.X509Certificate rootFrom(String pem, String source) {
            List<java.security.cert.X509Certificate> roots = new ArrayList<>();
            for (java.security.cert.X509Certificate c : parse(pem, source)) {
                if (c.getSubjectX500Principal().equals(c.getIssuerX500Principal())) {
                    try {
                        c.verify(c.getPublicKey());
                        roots.add(c);
                    } catch (java.security.GeneralSecurityException e) {
                        // names itself as issuer but is not self-signed: not a root
                    }
                }
            }
            if (roots.size() != 1) {
                throw new IllegalArgumentException(source + " holds " + roots.size()
                        + " self-signed certificates; give exactly one mesh root CA");
            }
            return roots.getFirst();
        }

        private static java.security.cert.X509Certificate single(String pem, String source) {
            List<java.security.cert.X509Certificate> certs = parse(pem, source);
            if (certs.size() != 1) {
                throw new IllegalArgumentException(source + " holds " + certs.size() + " certificates, expected one");
            }
            return certs.getFirst();
        }

        private static List<java.security.cert.X509Certificate> parse(String pem, String source) {
            try {
                return Pem.parseCertificates(pem);
            } catch (java.security.cert.CertificateException | RuntimeException e) {
                throw new IllegalArgumentException(source + " is not PEM certificates: " + e.getMessage(), e);
            }
        }

        /** One page of entries as the admin API lists them, rebuilt so the hashes are recomputed here. */
        static List<IssuanceLogEntry> page(AdminApiClient client, long from, int limit) {
            JsonNode page = client.get("/api/v1/issuance-log?from=" + from + "&limit=" + limit);
            List<IssuanceLogEntry> out = new ArrayList<>();
            for (JsonNode e : page.path("entries")) {
                try {
                    List<String> policies = new ArrayList<>();
                    e.path("policyIds").forEach(p -> policies.add(p.asText()));
                    out.add(new IssuanceLogEntry(e.get("sequence").asLong(), e.get("serial").asText(),
                            e.get("nodeId").asText(), e.get("spiffeId").asText(), e.get("evidenceSha256").asText(),
                            policies, Instant.parse(e.get("issuedAt").asText()), e.get("previousHash").asText(),
                            e.get("hash").asText(), e.hasNonNull("secretName")
                                    ? java.util.Optional.of(new IssuanceLogEntry.SecretRelease(
                                            e.get("secretName").asText(), e.get("secretVersion").asLong()))
                                    : java.util.Optional.empty()));
                } catch (RuntimeException ex) {
                    throw new IllegalStateException("the admin API listed a malformed issuance log entry near sequence "
                            + from + ": " + ex.getMessage(), ex);
                }
            }
            return out;
        }
    }

    /** Prints (or saves) the latest signed checkpoint, or signs one now with {@code --create}. */
    @Command(name = "checkpoint", mixinStandardHelpOptions = true,
            description = {"Print the latest signed checkpoint of the issuance log (a C2SP signed note).",
                    "Keep it somewhere the control plane's operators cannot change; 'log verify --checkpoint FILE' "
                            + "later proves the log was neither truncated nor rewritten."})
    static final class CheckpointCommand implements Callable<Integer> {
        @Mixin
        AdminApiOptions admin;

        @Option(names = "--create", description = "Sign a checkpoint of the log as it is now (operator role).")
        boolean create;

        // Only --out: -o is the output format here as on every read command.
        @Option(names = "--out", paramLabel = "FILE", description = "Write the note to FILE instead of printing it.")
        Path out;

        @Mixin
        OutputOptions output;

        @CommandLine.Spec
        CommandLine.Model.CommandSpec spec;

        @Override
        public Integer call() throws IOException {
            AdminApiClient client = admin.client();
            // -o json|yaml: the admin API's checkpoint record, note included
            JsonNode c = create ? client.post("/api/v1/issuance-log/checkpoints", "application/json", "")
                    : client.get("/api/v1/issuance-log/checkpoints/latest");
            String note = c.path("note").asText();
            PrintWriter stdout = spec.commandLine().getOut();
            if (out != null) {
                Files.writeString(out, note, StandardCharsets.UTF_8);
            }
            output.print(stdout, c, o -> {
                if (out == null) {
                    o.print(note);
                } else {
                    o.printf("wrote checkpoint %d (size %d, head %s, %s) to %s%n", c.path("id").asLong(),
                            c.path("size").asLong(), c.path("headHash").asText(), c.path("timestamp").asText(), out);
                }
            });
            return 0;
        }
    }
}

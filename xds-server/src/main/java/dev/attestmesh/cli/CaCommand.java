package dev.attestmesh.cli;

import dev.attestmesh.ca.Pem;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.spec.ECGenParameterSpec;
import java.util.List;
import java.util.Set;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.bouncycastle.pkcs.jcajce.JcaPKCS10CertificationRequestBuilder;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.PrintWriter;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code attestmesh ca rotate}: rotates the mesh CA's issuing intermediate; {@code attestmesh ca issue-client}:
 * obtains a reserved admin or replica client certificate (both admin role); {@code attestmesh ca rekey}: re-seals
 * the stored CA and secrets under a new CA encryption key, offline ({@link CaRekeyCommand}).
 */
@Command(name = "ca", mixinStandardHelpOptions = true, description = "Mesh CA operations.",
        subcommands = {CaCommand.Rotate.class, CaCommand.IssueClient.class, CaRekeyCommand.class})
final class CaCommand implements Runnable {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        throw new CommandLine.ParameterException(spec.commandLine(), "a subcommand is required: rotate, issue-client, rekey");
    }

    /** Rotates the issuing intermediate; the old one stays trusted for the overlap. */
    @Command(name = "rotate", mixinStandardHelpOptions = true,
            description = "Rotate the issuing intermediate; the previous one stays in the trust bundle for --overlap.")
    static final class Rotate implements Callable<Integer> {
        @Mixin
        AdminApiOptions admin;

        @Option(names = "--overlap", defaultValue = "PT24H", description = "ISO-8601 duration (default ${DEFAULT-VALUE}).")
        String overlap;

        @CommandLine.Spec
        CommandLine.Model.CommandSpec spec;

        @Override
        public Integer call() {
            PrintWriter out = spec.commandLine().getOut();
            JsonNode r = admin.client().post("/api/v1/ca/rotate-intermediate", "application/json",
                    AdminApiClient.JSON.createObjectNode().put("overlap", overlap).toString());
            out.printf("rotated: new intermediate %s (serial %s, sha256 %s); previous trusted until %s; bundle has %d "
                    + "certificates%n", r.path("intermediateSubject").asText(), r.path("intermediateSerial").asText(),
                    r.path("intermediateSha256").asText(), r.path("overlapEnds").asText(), r.path("trustBundleSize").asInt());
            return 0;
        }
    }

    /**
     * Generates a P-256 key locally (it never leaves this machine), asks the control plane to certify it as
     * {@code spiffe://<td>/attestmesh/admin/NAME} or {@code .../replica/NAME}, and writes {@code key.pem}
     * (0600), {@code cert-chain.pem} and {@code ca-bundle.pem} into {@code --out}.
     */
    @Command(name = "issue-client", mixinStandardHelpOptions = true,
            description = {"Issue a reserved client certificate: an admin API client (--admin NAME) or a standalone",
                "ext_authz replica (--replica NAME). The key is generated here; only its CSR is sent. Writes key.pem",
                "(mode 0600), cert-chain.pem and ca-bundle.pem into --out. Needs an admin-role token."})
    static final class IssueClient implements Callable<Integer> {
        /** Exactly one of --admin / --replica. */
        static final class Kind {
            @Option(names = "--admin", paramLabel = "NAME", required = true,
                    description = "Issue spiffe://<td>/attestmesh/admin/NAME (list it in attestmesh.admin.cert-identities).")
            String admin;

            @Option(names = "--replica", paramLabel = "NAME", required = true,
                    description = "Issue spiffe://<td>/attestmesh/replica/NAME (list it in attestmesh.authz.replica-identities).")
            String replica;
        }

        @CommandLine.ArgGroup(exclusive = true, multiplicity = "1")
        Kind kind;

        @Option(names = "--out", required = true, description = "Directory for key.pem, cert-chain.pem, ca-bundle.pem.")
        Path out;

        @Option(names = "--ttl", description = "ISO-8601 lifetime, at most P90D (default: the control plane's, P30D).")
        String ttl;

        // Not the AdminApiOptions mixin: its short --admin would clash with --admin NAME here.
        @Option(names = "--admin-url", defaultValue = "http://127.0.0.1:15014",
                description = "Admin API base URL (or ATTESTMESH_ADMIN_URL; default ${DEFAULT-VALUE}).")
        String adminUrl;

        @Option(names = {"--token", "--admin-token"}, description = "Admin API bearer token with role admin (or ATTESTMESH_ADMIN_TOKEN).")
        String token;

        @Option(names = "--force", description = "Overwrite key.pem / cert-chain.pem / ca-bundle.pem in --out.")
        boolean force;

        @CommandLine.Spec
        CommandLine.Model.CommandSpec spec;

        @Override
        public Integer call() throws Exception {
            if (token == null || token.isBlank()) {
                throw new IllegalArgumentException("an admin API token with role admin is required: pass --token or set "
                        + "ATTESTMESH_ADMIN_TOKEN");
            }
            String kindName = kind.admin != null ? "admin" : "replica";
            String name = kind.admin != null ? kind.admin : kind.replica;
            Path key = out.resolve("key.pem");
            Path chain = out.resolve("cert-chain.pem");
            Path bundle = out.resolve("ca-bundle.pem");
            for (Path p : List.of(key, chain, bundle)) {
                if (Files.exists(p) && !force) {
                    throw new IllegalArgumentException(p + " exists; choose another --out or pass --force");
                }
            }
            KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
            g.initialize(new ECGenParameterSpec("secp256r1"));
            KeyPair pair = g.generateKeyPair();
            byte[] csr = new JcaPKCS10CertificationRequestBuilder(new X500Name("CN=" + kindName + " " + name),
                    pair.getPublic()).build(new JcaContentSignerBuilder("SHA256withECDSA").build(pair.getPrivate()))
                    .getEncoded();
            var request = AdminApiClient.JSON.createObjectNode().put("kind", kindName).put("name", name)
                    .put("csr", Pem.csr(csr));
            if (ttl != null) {
                request.put("ttl", ttl);
            }
            JsonNode r = new AdminApiClient(adminUrl, token.trim()).post("/api/v1/ca/client-certificates",
                    "application/json", request.toString());
            Files.createDirectories(out);
            writePrivate(key, Pem.privateKey(pair.getPrivate()));
            Files.writeString(chain, r.path("certificateChain").asText(), StandardCharsets.US_ASCII);
            Files.writeString(bundle, r.path("caBundle").asText(), StandardCharsets.US_ASCII);
            spec.commandLine().getOut().printf("issued %s (serial %s) until %s; wrote %s (0600), %s, %s%n",
                    r.path("spiffeId").asText(), r.path("serial").asText(), r.path("notAfter").asText(), key, chain, bundle);
            return 0;
        }

        /** Creates {@code file} readable by its owner only before any key byte is written. */
        static void writePrivate(Path file, String content) throws IOException {
            Files.deleteIfExists(file);
            Set<PosixFilePermission> owner = PosixFilePermissions.fromString("rw-------");
            try {
                Files.createFile(file, PosixFilePermissions.asFileAttribute(owner));
            } catch (UnsupportedOperationException e) {
                throw new IOException("cannot create " + file + " with mode 0600 on this file system; use a POSIX one", e);
            }
            Files.writeString(file, content, StandardCharsets.US_ASCII);
        }
    }
}

package dev.attestmesh.server.seed;

import dev.attestmesh.identity.Registration;
import dev.attestmesh.identity.RegistrationDocuments;
import dev.attestmesh.identity.RegistrationValidationException;
import dev.attestmesh.policy.Policy;
import dev.attestmesh.policy.PolicyDocuments;
import dev.attestmesh.policy.PolicyValidationException;
import dev.attestmesh.server.mesh.MeshConfigException;
import dev.attestmesh.server.mesh.MeshConfigParser;
import dev.attestmesh.server.mesh.MeshConfigRegistry;
import dev.attestmesh.server.mesh.MeshConfigRegistry.VersionedMeshConfig;
import dev.attestmesh.server.policy.PolicyRegistry;
import dev.attestmesh.server.registration.RegistrationRegistry;
import dev.attestmesh.server.store.DocumentSetDiff;
import dev.attestmesh.server.store.SeedResult;
import java.io.IOException;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Collectors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The policy, registration and mesh files given at start, and what they do to the store
 * (docs/operator-guide.md, "Files given at start").
 *
 * <p>Why: the admin API changes the same documents, so a file read at every start would silently undo those
 * changes. By default ({@link FileMode#SEED}) a file fills a store that holds none of its documents yet (the
 * first start; decided under the store's lock, so replicas starting together seed once) and is otherwise
 * left unapplied, with one log line telling how it differs from the store. In {@link FileMode#APPLY} the file
 * replaces the stored set at every start, with the difference logged (ids added, changed, removed, and their
 * versions).
 *
 * <p>In both modes every given file is validated in full before anything is written, and a broken file stops
 * the start listing every problem of every file, even a file that would not be applied: an operator must see
 * it before relying on it. References to policies are checked against the policies in force after this start
 * (the policy file's when it is written, else the stored ones): a problem there stops the start when the file
 * is to be written, and is logged as a warning when it is not.
 */
public final class DocumentFiles {
    private static final Logger LOG = LoggerFactory.getLogger(DocumentFiles.class);

    /** Which document a file holds, with the words its messages use. */
    public enum Kind {
        POLICIES("policy file", "policies", "--apply-policy-file", "attestmesh.policy-file-mode"),
        REGISTRATIONS("registration file", "registrations", "--apply-registration-file",
                "attestmesh.registration-file-mode"),
        MESH("mesh config file", "services", "--apply-mesh-file", "attestmesh.mesh-file-mode");

        private final String file;
        private final String items;
        private final String flag;
        private final String property;

        Kind(String file, String items, String flag, String property) {
            this.file = file;
            this.items = items;
            this.flag = flag;
            this.property = property;
        }
    }

    /**
     * The files given at start and their modes.
     *
     * @throws IllegalArgumentException when a mode is {@link FileMode#APPLY} for a file that is not given
     */
    public record Sources(Optional<Path> policyFile, Optional<Path> registrationFile, Optional<Path> meshFile,
            DocumentFileModes modes) {
        public Sources {
            Objects.requireNonNull(policyFile, "policyFile");
            Objects.requireNonNull(registrationFile, "registrationFile");
            Objects.requireNonNull(meshFile, "meshFile");
            Objects.requireNonNull(modes, "modes");
            applyNeedsFile(Kind.POLICIES, modes.policies(), policyFile, "--policy-file");
            applyNeedsFile(Kind.REGISTRATIONS, modes.registrations(), registrationFile, "--registration-file");
            applyNeedsFile(Kind.MESH, modes.mesh(), meshFile, "--mesh-file");
        }

        private static void applyNeedsFile(Kind kind, FileMode mode, Optional<Path> file, String fileOption) {
            if (mode == FileMode.APPLY && file.isEmpty()) {
                throw new IllegalArgumentException(kind.property + " is 'apply' (" + kind.flag + ") but no "
                        + kind.file + " is given (" + fileOption + "): give the file or drop the flag");
            }
        }
    }

    /**
     * What one file did at this start.
     *
     * @param written whether the file was written to the store
     * @param diff what writing changed, or (not written) what writing it would change
     * @param message the line logged at INFO
     */
    public record Outcome(Kind kind, Path file, FileMode mode, boolean written, DocumentSetDiff diff,
            String message) {}

    private final PolicyRegistry policies;
    private final RegistrationRegistry registrations;
    private final MeshConfigRegistry mesh;

    public DocumentFiles(PolicyRegistry policies, RegistrationRegistry registrations, MeshConfigRegistry mesh) {
        this.policies = policies;
        this.registrations = registrations;
        this.mesh = mesh;
    }

    /**
     * Validates every given file, then writes each as its mode says, logging one line per file.
     *
     * @return one outcome per given file: policies, registrations, mesh config, in that order
     * @throws IllegalArgumentException when a file is unreadable or invalid, naming each file and listing every
     *     problem; nothing of any file is written then
     */
    public List<Outcome> load(Sources sources) {
        DocumentFileModes modes = sources.modes();
        List<String> failures = new ArrayList<>();
        List<String> warnings = new ArrayList<>();
        Optional<List<Policy>> filePolicies = sources.policyFile().flatMap(f -> readPolicies(f, failures));
        Optional<List<Registration>> fileRegistrations = sources.registrationFile()
                .flatMap(f -> readRegistrations(f, failures));
        // References to policies are checked against the policies in force once the policy file has done its
        // part; not at all when the policy file is broken (the start fails on it, and they would mislead).
        boolean policyFileBroken = sources.policyFile().isPresent() && filePolicies.isEmpty();
        boolean policiesWritten = filePolicies.isPresent()
                && (modes.policies() == FileMode.APPLY || policies.all().isEmpty());
        Optional<Set<String>> policyIds = policyFileBroken ? Optional.empty()
                : Optional.of(ids(policiesWritten ? filePolicies.get() : List.copyOf(policies.all())));
        if (fileRegistrations.isPresent() && policyIds.isPresent()) {
            boolean written = modes.registrations() == FileMode.APPLY || registrations.all().isEmpty();
            List<String> missing = RegistrationRegistry.missingPolicies(fileRegistrations.get(), policyIds.get());
            (written ? failures : warnings).addAll(block(Kind.REGISTRATIONS, sources.registrationFile().get(),
                    missing));
        }
        Optional<String> meshDocument = sources.meshFile().flatMap(f -> readMesh(f,
                modes.mesh() == FileMode.APPLY || mesh.current().version() == 0, policyIds, failures, warnings));
        if (!failures.isEmpty()) {
            throw new IllegalArgumentException(String.join("\n", failures));
        }
        warnings.forEach(w -> LOG.warn("{}\n(the file is not applied at this start, so this does not stop it)", w));

        List<Outcome> outcomes = new ArrayList<>();
        filePolicies.ifPresent(p -> outcomes.add(writePolicies(sources.policyFile().get(), modes.policies(), p)));
        fileRegistrations.ifPresent(r -> outcomes.add(writeRegistrations(sources.registrationFile().get(),
                modes.registrations(), r)));
        meshDocument.ifPresent(d -> outcomes.add(writeMesh(sources.meshFile().get(), modes.mesh(), d)));
        outcomes.forEach(o -> LOG.info("{}", o.message()));
        return outcomes;
    }

    private Optional<List<Policy>> readPolicies(Path file, List<String> failures) {
        try {
            List<Policy> read = PolicyDocuments.load(file);
            List<String> problems = policies.problems(read);
            failures.addAll(block(Kind.POLICIES, file, problems));
            return problems.isEmpty() ? Optional.of(read) : Optional.empty();
        } catch (PolicyValidationException e) {
            failures.addAll(block(Kind.POLICIES, file, e.problems()));
            return Optional.empty();
        }
    }

    private Optional<List<Registration>> readRegistrations(Path file, List<String> failures) {
        try {
            List<Registration> read = RegistrationDocuments.load(file, registrations.trustDomain());
            List<String> problems = RegistrationRegistry.lengthProblems(read);
            failures.addAll(block(Kind.REGISTRATIONS, file, problems));
            return problems.isEmpty() ? Optional.of(read) : Optional.empty();
        } catch (RegistrationValidationException e) {
            failures.addAll(block(Kind.REGISTRATIONS, file, e.problems()));
            return Optional.empty();
        }
    }

    /**
     * Reads the mesh file and checks it: in full (policy IDs included) when it is to be written, else on its own
     * with unknown policy IDs only warned about.
     */
    private static Optional<String> readMesh(Path file, boolean written, Optional<Set<String>> policyIds,
            List<String> failures, List<String> warnings) {
        String document;
        try {
            long size = Files.size(file);
            if (size > MeshConfigParser.MAX_DOCUMENT_CHARS) {
                failures.add(Kind.MESH.file + " " + file + " is " + size + " bytes, larger than the limit of "
                        + MeshConfigParser.MAX_DOCUMENT_CHARS);
                return Optional.empty();
            }
            document = Files.readString(file, StandardCharsets.UTF_8);
        } catch (CharacterCodingException e) {
            failures.add(Kind.MESH.file + " " + file + " is not valid UTF-8 text");
            return Optional.empty();
        } catch (IOException e) {
            failures.add("cannot read " + Kind.MESH.file + " " + file + ": " + e.getMessage());
            return Optional.empty();
        }
        try {
            if (written && policyIds.isPresent()) {
                MeshConfigParser.parse(document, policyIds.get());
                return Optional.of(document);
            }
            MeshConfigParser.parseIgnoringPolicies(document);
        } catch (MeshConfigException e) {
            failures.addAll(block(Kind.MESH, file, e.problems()));
            return Optional.empty();
        }
        if (policyIds.isPresent()) {
            try {
                MeshConfigParser.parse(document, policyIds.get());
            } catch (MeshConfigException e) {
                warnings.addAll(block(Kind.MESH, file, e.problems()));
            }
        }
        return Optional.of(document);
    }

    private Outcome writePolicies(Path file, FileMode mode, List<Policy> read) {
        try {
            if (mode == FileMode.APPLY) {
                DocumentSetDiff diff = policies.replace(read);
                return applied(Kind.POLICIES, file, policies.all().size(), diff);
            }
            return seeded(Kind.POLICIES, file, policies.seed(read));
        } catch (PolicyValidationException e) {
            throw new IllegalArgumentException(String.join("\n", block(Kind.POLICIES, file, e.problems())), e);
        }
    }

    private Outcome writeRegistrations(Path file, FileMode mode, List<Registration> read) {
        try {
            if (mode == FileMode.APPLY) {
                DocumentSetDiff diff = registrations.replace(read);
                return applied(Kind.REGISTRATIONS, file, registrations.all().size(), diff);
            }
            return seeded(Kind.REGISTRATIONS, file, registrations.seed(read));
        } catch (RegistrationValidationException e) {
            throw new IllegalArgumentException(String.join("\n", block(Kind.REGISTRATIONS, file, e.problems())), e);
        }
    }

    private Outcome writeMesh(Path file, FileMode mode, String document) {
        try {
            if (mode == FileMode.APPLY) {
                VersionedMeshConfig before = mesh.current();
                VersionedMeshConfig after = mesh.replace(document);
                DocumentSetDiff diff = MeshConfigRegistry.servicesDiff(before, after.config(), after.version());
                String change = after.version() == before.version() ? "version " + after.version()
                        + " already held this document (no change)" : "version " + before.version() + " -> "
                        + after.version() + ", " + after.config().services().size() + " services; " + diff.summary();
                return new Outcome(Kind.MESH, file, mode, after.version() != before.version(), diff,
                        Kind.MESH.file + " " + file + " applied (" + Kind.MESH.property + "=apply): " + change);
            }
            SeedResult result = mesh.seed(document);
            if (result.written()) {
                return new Outcome(Kind.MESH, file, mode, true, result.diff(), Kind.MESH.file + " " + file
                        + " seeded the empty store as version 1: " + mesh.current().config().services().size()
                        + " services (" + result.diff().summary() + ")");
            }
            VersionedMeshConfig held = mesh.current();
            boolean same = held.document().equals(document); // the registry's own test of sameness
            return new Outcome(Kind.MESH, file, mode, false, result.diff(), notApplied(Kind.MESH, file,
                    "mesh config version " + held.version() + " (" + result.heldBefore() + " services)")
                    + (same ? "; the file matches the store" : result.diff().isEmpty()
                            ? "; the file's text differs from the stored document, its services do not"
                            : "; the file differs from the store: services " + result.diff().summary()));
        } catch (MeshConfigException e) {
            throw new IllegalArgumentException(String.join("\n", block(Kind.MESH, file, e.problems())), e);
        }
    }

    private static Outcome applied(Kind kind, Path file, int inForce, DocumentSetDiff diff) {
        return new Outcome(kind, file, FileMode.APPLY, true, diff, kind.file + " " + file + " applied ("
                + kind.property + "=apply): " + inForce + " " + kind.items + " in force; "
                + (diff.isEmpty() ? "the store already matched it (no change)" : diff.summary()));
    }

    private static Outcome seeded(Kind kind, Path file, SeedResult result) {
        if (result.written()) {
            return new Outcome(kind, file, FileMode.SEED, true, result.diff(), kind.file + " " + file
                    + " seeded the empty store: " + result.diff().added().size() + " " + kind.items + " ("
                    + result.diff().summary() + ")");
        }
        return new Outcome(kind, file, FileMode.SEED, false, result.diff(), notApplied(kind, file,
                result.heldBefore() + " " + kind.items) + (result.diff().isEmpty() ? "; the file matches the store"
                : "; the file differs from the store: " + result.diff().summary()));
    }

    private static String notApplied(Kind kind, Path file, String held) {
        return kind.file + " " + file + " not applied: the store already holds " + held + ", which the admin API "
                + "may have changed (seed mode; " + kind.flag + " or " + kind.property + "=apply applies the file "
                + "at every start)";
    }

    /** "kind file is invalid:\n  - p1\n  - p2", or nothing when there is no problem. */
    private static List<String> block(Kind kind, Path file, List<String> problems) {
        if (problems.isEmpty()) {
            return List.of();
        }
        return List.of(kind.file + " " + file + " is invalid:\n  - " + String.join("\n  - ", problems));
    }

    private static Set<String> ids(Collection<Policy> list) {
        return list.stream().map(Policy::id).collect(Collectors.toUnmodifiableSet());
    }
}

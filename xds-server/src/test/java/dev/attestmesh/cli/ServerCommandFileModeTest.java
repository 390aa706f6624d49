package dev.attestmesh.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Map;
import java.util.Properties;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/** {@code --apply-policy-file}, {@code --apply-registration-file}, {@code --apply-mesh-file} and their environment. */
class ServerCommandFileModeTest {
    @Test
    void applyFlagsSetTheFileModePropertiesAndOnlyWhenGiven() {
        ServerCommand cmd = new ServerCommand();
        new CommandLine(cmd).parseArgs("--policy-file", "/p.yaml", "--apply-policy-file", "--registration-file",
                "/r.yaml", "--apply-registration-file", "--mesh-file", "/m.yaml", "--apply-mesh-file");
        Map<String, Object> p = cmd.properties();
        assertEquals("apply", p.get("attestmesh.policy-file-mode"));
        assertEquals("apply", p.get("attestmesh.registration-file-mode"));
        assertEquals("apply", p.get("attestmesh.mesh-file-mode"));

        ServerCommand files = new ServerCommand();
        new CommandLine(files).parseArgs("--policy-file", "/p.yaml", "--mesh-file", "/m.yaml");
        assertTrue(files.properties().keySet().stream().noneMatch(k -> k.endsWith("-file-mode")),
                "no flag: the configuration's mode (default seed) holds: " + files.properties());
    }

    @Test
    void theEnvironmentCanSetTheFlagsEitherWay() {
        ServerCommand cmd = new ServerCommand();
        new CommandLine(cmd).setDefaultValueProvider(new EnvironmentDefaultProvider(Map.of(
                        "ATTESTMESH_APPLY_POLICY_FILE", "true", "ATTESTMESH_APPLY_MESH_FILE", "false"), new Properties()))
                .parseArgs();
        assertEquals("apply", cmd.properties().get("attestmesh.policy-file-mode"));
        assertEquals("seed", cmd.properties().get("attestmesh.mesh-file-mode"));
        assertTrue(!cmd.properties().containsKey("attestmesh.registration-file-mode"), cmd.properties().toString());
    }
}

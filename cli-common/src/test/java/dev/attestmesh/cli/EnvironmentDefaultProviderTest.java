package dev.attestmesh.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.Map;
import java.util.Properties;
import java.util.concurrent.Callable;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

class EnvironmentDefaultProviderTest {
    @Command(name = "probe")
    static final class Probe implements Callable<Integer> {
        @Option(names = "--control-plane")
        String controlPlane;

        @Option(names = "--node-id", defaultValue = "fallback")
        String nodeId;

        @Override
        public Integer call() {
            return 0;
        }
    }

    @Test
    void commandLineBeatsEnvironmentWhichBeatsFileWhichBeatsDefault() {
        Properties file = new Properties();
        file.setProperty("control-plane", "file:1");
        file.setProperty("node-id", "from-file");
        Probe p = new Probe();
        new CommandLine(p).setDefaultValueProvider(new EnvironmentDefaultProvider(
                Map.of("ATTESTMESH_CONTROL_PLANE", "env:2"), file)).parseArgs("--node-id", "cli");
        assertEquals("env:2", p.controlPlane);
        assertEquals("cli", p.nodeId);

        Probe q = new Probe();
        new CommandLine(q).setDefaultValueProvider(new EnvironmentDefaultProvider(Map.of(), file)).parseArgs();
        assertEquals("file:1", q.controlPlane);
        assertEquals("from-file", q.nodeId);

        Probe r = new Probe();
        new CommandLine(r).setDefaultValueProvider(new EnvironmentDefaultProvider(Map.of(), new Properties()))
                .parseArgs();
        assertEquals("fallback", r.nodeId);
    }

    @Test
    void environmentNamesFollowTheOptionNames() {
        assertEquals("ATTESTMESH_SIM_MEASUREMENT", EnvironmentDefaultProvider.environmentName("sim-measurement"));
    }
}

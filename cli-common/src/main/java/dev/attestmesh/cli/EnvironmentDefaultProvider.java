package dev.attestmesh.cli;

import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import picocli.CommandLine;
import picocli.CommandLine.Model.ArgSpec;
import picocli.CommandLine.Model.OptionSpec;

/**
 * Supplies option defaults from {@code ATTESTMESH_<OPTION>} environment variables, then from the
 * configuration file, then from the option's own default.
 */
public final class EnvironmentDefaultProvider implements CommandLine.IDefaultValueProvider {
    private final Map<String, String> env;
    private final Properties file;

    public EnvironmentDefaultProvider(Map<String, String> env, Properties file) {
        this.env = env;
        this.file = file;
    }

    @Override
    public String defaultValue(ArgSpec arg) {
        if (!(arg instanceof OptionSpec option)) {
            return arg.defaultValue();
        }
        String key = option.longestName().replaceFirst("^-+", "");
        String fromEnv = env.get(environmentName(key));
        if (fromEnv != null) {
            return fromEnv;
        }
        String fromFile = file.getProperty(key);
        return fromFile != null ? fromFile : option.defaultValue();
    }

    /** {@code control-plane} to {@code ATTESTMESH_CONTROL_PLANE}. */
    public static String environmentName(String optionKey) {
        return "ATTESTMESH_" + optionKey.toUpperCase(Locale.ROOT).replace('-', '_');
    }
}

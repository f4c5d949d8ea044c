package dev.davit.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** Entry point of the davit CLI. */
@Command(name = "davit", mixinStandardHelpOptions = true, versionProvider = Main.Version.class,
        description = "Pull, verify and store OCI images and artifacts from any registry.")
public final class Main implements Runnable {

    public static void main(String[] args) {
        System.exit(new CommandLine(new Main()).execute(args));
    }

    @Override
    public void run() {
        new CommandLine(this).usage(System.err);
    }

    /** Reads the version filtered into version.properties at build time. */
    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() throws Exception {
            var p = new java.util.Properties();
            try (var in = Main.class.getResourceAsStream("version.properties")) {
                if (in != null) {
                    p.load(in);
                }
            }
            return new String[] {"davit " + p.getProperty("version", "unknown")};
        }
    }
}

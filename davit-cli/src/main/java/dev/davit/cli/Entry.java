package dev.davit.cli;

/**
 * The jar's {@code Main-Class}: answers {@code davit --version} from the jar manifest's {@code Implementation-Version}
 * and hands every other command line to {@link Main}. Loading {@link Main} makes the JVM load and check ~70 classes
 * (its commands, Jackson's nodes, picocli's exceptions) and read {@code version.properties} through a
 * {@code JarURLConnection}: ~25 ms of a line that only prints the version (docs/reference/benchmarks/CLI-ISSUE13.md, issue 13 part 9). This
 * class refers to nothing but {@link Main}, which it loads only when it calls it. Without the manifest entry (classes
 * run from a directory) {@link Main} answers, from {@code version.properties}: the same line.
 */
public final class Entry {
    private Entry() {
    }

    public static void main(String[] args) {
        if (args.length == 1 && (args[0].equals("--version") || args[0].equals("-V"))) {
            String v = Entry.class.getPackage().getImplementationVersion();
            if (v != null) {
                System.out.println("davit " + v);
                System.exit(0);
            }
        }
        Main.main(args);
    }
}

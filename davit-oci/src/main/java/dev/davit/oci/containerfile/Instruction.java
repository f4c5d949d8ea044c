package dev.davit.oci.containerfile;

import java.util.List;
import java.util.Map;

/**
 * One instruction of a Containerfile, as written: its arguments are kept raw where the build expands variables
 * ({@link Words}), so the same instruction means what the build's ARG and ENV values say. Every one knows its first
 * line, which errors name.
 */
public sealed interface Instruction {
    /** {@return the line the instruction starts on (1-based)} */
    int line();

    /** {@return the instruction's keyword, upper case, e.g. {@code RUN}} */
    String keyword();

    /**
     * A command: the exec form (a JSON array, run as it is) or the shell form (a string for the stage's shell).
     *
     * @param exec  whether it is the exec form
     * @param args  the exec form's arguments; for the shell form, one element: the command line as written
     */
    record Command(boolean exec, List<String> args) {
        /** Copies the list. */
        public Command {
            args = List.copyOf(args);
        }

        /** {@return the shell form's command line} */
        public String shell() {
            return args.isEmpty() ? "" : args.get(0);
        }
    }

    /**
     * A here-document of {@code RUN}, {@code COPY} or {@code ADD}: {@code <<NAME} (or {@code <<-NAME}, leading tabs
     * removed) up to a line that is {@code NAME}.
     *
     * @param name    the delimiter
     * @param content the lines between, each ended by a newline
     * @param expand  whether variables in it are expanded (the delimiter was not quoted)
     */
    record Heredoc(String name, String content, boolean expand) {
    }

    /**
     * {@code FROM [--platform=P] IMAGE [AS NAME]}.
     *
     * @param line     its line
     * @param image    the image or stage, as written
     * @param name     the stage's name (lower case), or null
     * @param platform {@code --platform}, or null
     */
    record From(int line, String image, String name, String platform) implements Instruction {
        @Override
        public String keyword() {
            return "FROM";
        }
    }

    /**
     * {@code RUN}: a command, with its here-documents.
     *
     * @param line     its line
     * @param command  the command
     * @param heredocs its here-documents, in order
     * @param network  {@code --network} ({@code none} or {@code default}), or null
     * @param mounts   its {@code --mount}s, in order
     */
    record Run(int line, Command command, List<Heredoc> heredocs, String network, List<RunMount> mounts)
            implements Instruction {
        /** Copies the lists. */
        public Run {
            heredocs = List.copyOf(heredocs);
            mounts = List.copyOf(mounts);
        }

        /**
         * A RUN without mounts.
         *
         * @param line     its line
         * @param command  the command
         * @param heredocs its here-documents, in order
         * @param network  {@code --network}, or null
         */
        public Run(int line, Command command, List<Heredoc> heredocs, String network) {
            this(line, command, heredocs, network, List.of());
        }

        @Override
        public String keyword() {
            return "RUN";
        }
    }

    /**
     * One {@code RUN --mount=...}, as BuildKit reads it: its type and its options, their names in one spelling
     * ({@code target} for {@code dst} and {@code destination}, {@code source} for {@code src}, {@code readonly} for
     * {@code ro}, {@code readwrite} for {@code rw}; a bare flag is {@code true}), values unexpanded.
     *
     * @param type    {@code bind}, {@code cache}, {@code tmpfs} or {@code secret}
     * @param options the options but {@code type}, as written
     * @param text    the flag's value as written
     */
    record RunMount(String type, Map<String, String> options, String text) {
        /** Copies the map. */
        public RunMount {
            options = java.util.Collections.unmodifiableMap(new java.util.LinkedHashMap<>(options));
        }
    }

    /**
     * {@code COPY} or {@code ADD}: sources (raw words, or here-documents' names) into {@code dest}.
     *
     * @param add      whether it is ADD (a local tar unpacked, a URL fetched)
     * @param sources  the sources as written
     * @param dest     the destination as written
     * @param from     {@code --from}: a stage or an image, or null for the build context
     * @param chown    {@code --chown}, or null
     * @param chmod    {@code --chmod}, or null
     * @param heredocs here-documents that stand for sources of their names
     * @param checksum {@code ADD --checksum}: the {@code sha256:HEX} digest a URL's content must have, or null
     * @param line     its line
     * @param excludes {@code --exclude} patterns (the ignore file's syntax), in order
     * @param parents  {@code COPY --parents}: each source keeps its parent directories (those after a {@code /./})
     */
    record Copy(int line, boolean add, List<String> sources, String dest, String from, String chown, String chmod,
                List<Heredoc> heredocs, String checksum, List<String> excludes, boolean parents)
            implements Instruction {
        /** Copies the lists. */
        public Copy {
            sources = List.copyOf(sources);
            heredocs = List.copyOf(heredocs);
            excludes = List.copyOf(excludes);
        }

        /**
         * A COPY or ADD without {@code --exclude} and {@code --parents}.
         *
         * @param line     its line
         * @param add      whether it is ADD
         * @param sources  the sources as written
         * @param dest     the destination as written
         * @param from     {@code --from}, or null
         * @param chown    {@code --chown}, or null
         * @param chmod    {@code --chmod}, or null
         * @param heredocs here-documents that stand for sources of their names
         * @param checksum {@code ADD --checksum}, or null
         */
        public Copy(int line, boolean add, List<String> sources, String dest, String from, String chown, String chmod,
                    List<Heredoc> heredocs, String checksum) {
            this(line, add, sources, dest, from, chown, chmod, heredocs, checksum, List.of(), false);
        }

        @Override
        public String keyword() {
            return add ? "ADD" : "COPY";
        }
    }

    /**
     * {@code ENV} or {@code LABEL}: pairs of a name and a raw value, in order.
     *
     * @param line    its line
     * @param keyword {@code ENV} or {@code LABEL}
     * @param pairs   the names and raw values
     */
    record Pairs(int line, String keyword, List<Map.Entry<String, String>> pairs) implements Instruction {
        /** Copies the list. */
        public Pairs {
            pairs = List.copyOf(pairs);
        }
    }

    /**
     * {@code ARG NAME[=DEFAULT]...}: a null default when none is given.
     *
     * @param line its line
     * @param args the names and raw defaults (null: none)
     */
    record Arg(int line, List<Map.Entry<String, String>> args) implements Instruction {
        /** Copies the list (it may hold null defaults). */
        public Arg {
            args = java.util.Collections.unmodifiableList(new java.util.ArrayList<>(args));
        }

        @Override
        public String keyword() {
            return "ARG";
        }
    }

    /**
     * {@code CMD} or {@code ENTRYPOINT}.
     *
     * @param line    its line
     * @param keyword {@code CMD} or {@code ENTRYPOINT}
     * @param command the command
     */
    record Exec(int line, String keyword, Command command) implements Instruction {
    }

    /**
     * {@code HEALTHCHECK [--interval=D] [--timeout=D] [--start-period=D] [--start-interval=D] [--retries=N] CMD ...},
     * or {@code HEALTHCHECK NONE}: the image's health check, as Docker's config holds it.
     *
     * @param line          its line
     * @param test          {@code ["NONE"]}, {@code ["CMD", ARGS...]} (the exec form) or {@code ["CMD-SHELL", LINE]}
     * @param interval      {@code --interval}, or null
     * @param timeout       {@code --timeout}, or null
     * @param startPeriod   {@code --start-period}, or null
     * @param startInterval {@code --start-interval}, or null
     * @param retries       {@code --retries}, or null
     */
    record Healthcheck(int line, List<String> test, java.time.Duration interval, java.time.Duration timeout,
                       java.time.Duration startPeriod, java.time.Duration startInterval, Integer retries)
            implements Instruction {
        /** Copies the list. */
        public Healthcheck {
            test = List.copyOf(test);
        }

        @Override
        public String keyword() {
            return "HEALTHCHECK";
        }
    }

    /**
     * {@code ONBUILD INSTRUCTION}: a trigger, as written, that a build FROM the image runs.
     *
     * @param line    its line
     * @param trigger the instruction, as written
     */
    record OnBuild(int line, String trigger) implements Instruction {
        @Override
        public String keyword() {
            return "ONBUILD";
        }
    }

    /**
     * {@code SHELL ["executable", "args"...]}.
     *
     * @param line  its line
     * @param shell the shell and its arguments
     */
    record Shell(int line, List<String> shell) implements Instruction {
        /** Copies the list. */
        public Shell {
            shell = List.copyOf(shell);
        }

        @Override
        public String keyword() {
            return "SHELL";
        }
    }

    /**
     * {@code WORKDIR}, {@code USER}, {@code STOPSIGNAL}: one raw argument.
     *
     * @param line    its line
     * @param keyword the keyword
     * @param value   the argument as written
     */
    record Single(int line, String keyword, String value) implements Instruction {
    }

    /**
     * {@code EXPOSE} and {@code VOLUME}: raw words (VOLUME's JSON form already split).
     *
     * @param line    its line
     * @param keyword the keyword
     * @param values  the words as written
     * @param json    whether they were a JSON array
     */
    record Values(int line, String keyword, List<String> values, boolean json) implements Instruction {
        /** Copies the list. */
        public Values {
            values = List.copyOf(values);
        }
    }
}

package dev.davit.oci.containerfile;

import com.fasterxml.jackson.databind.JsonNode;
import dev.davit.oci.DavitException;
import dev.davit.oci.DavitException.Kind;
import dev.davit.oci.internal.Json;
import dev.davit.oci.internal.Text;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.AbstractMap;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A parsed Containerfile (a Dockerfile): its parser directives and its instructions, in order. The syntax is Docker's:
 * parser directives at the top ({@code # escape=`}, {@code # syntax=...}), comments, line continuations with the
 * escape character (comment and empty lines inside them left out), the exec (JSON) and shell forms, here-documents
 * ({@code <<EOF}, {@code <<-EOF}, {@code <<"EOF"}) for RUN, COPY and ADD. An instruction davit does not support is an
 * error naming it and its line, never skipped.
 *
 * @param name         what errors call the file (e.g. {@code Containerfile})
 * @param directives   the parser directives, lower-case names
 * @param escape       the escape character
 * @param instructions the instructions
 */
public record Containerfile(String name, Map<String, String> directives, char escape,
                            List<Instruction> instructions) {
    /** The largest Containerfile read. */
    public static final int MAX_BYTES = 4 << 20;
    private static final Pattern DIRECTIVE = Pattern.compile("^#\\s*([a-zA-Z][a-zA-Z0-9]*)\\s*=\\s*(.+?)\\s*$");
    private static final Pattern HEREDOC = Pattern.compile("<<(-?)([\"']?)([A-Za-z_][A-Za-z0-9_]*)\\2");
    private static final Set<String> KNOWN_DIRECTIVES = Set.of("escape", "syntax", "check");
    private static final Set<String> UNSUPPORTED = Set.of("MAINTAINER");
    /** The longest ONBUILD trigger read. */
    private static final int MAX_TRIGGER = 64 * 1024;

    /** Copies the collections. */
    public Containerfile {
        directives = Map.copyOf(directives);
        instructions = List.copyOf(instructions);
    }

    /**
     * Parses {@code text}.
     *
     * @param text the Containerfile's content
     * @param name what errors call it
     * @return the parsed file
     * @throws DavitException USAGE, one line naming the file, the line and the fix, for what is not a Containerfile
     *                        davit builds: a malformed instruction, an unknown or unsupported one, no FROM first
     */
    public static Containerfile parse(String text, String name) {
        if (text.length() > MAX_BYTES) {
            throw new DavitException(Kind.USAGE, name + " is larger than " + (MAX_BYTES >> 20) + " MiB; give a"
                    + " Containerfile");
        }
        List<String> lines = List.of(text.replace("\r\n", "\n").split("\n", -1));
        Map<String, String> directives = new LinkedHashMap<>();
        int i = 0;
        for (; i < lines.size(); i++) {
            Matcher m = DIRECTIVE.matcher(lines.get(i));
            if (!m.matches() || !KNOWN_DIRECTIVES.contains(m.group(1).toLowerCase(Locale.ROOT))) {
                break;
            }
            String key = m.group(1).toLowerCase(Locale.ROOT);
            if (directives.put(key, m.group(2)) != null) {
                throw error(name, i + 1, "the parser directive '" + key + "' is given twice; keep one");
            }
        }
        String esc = directives.getOrDefault("escape", "\\");
        if (!esc.equals("\\") && !esc.equals("`")) {
            throw error(name, 1, "the escape directive takes \\ or `, not '" + Text.shorten(esc, 20) + "'");
        }
        char escape = esc.charAt(0);
        List<Instruction> out = new ArrayList<>();
        while (i < lines.size()) {
            String first = lines.get(i);
            String trimmed = first.strip();
            if (trimmed.isEmpty() || trimmed.startsWith("#")) {
                i++;
                continue;
            }
            int start = i + 1;
            StringBuilder logical = new StringBuilder();
            String line = first;
            while (true) {
                String t = stripTrailing(line);
                if (!t.isEmpty() && t.charAt(t.length() - 1) == escape) {
                    logical.append(t, 0, t.length() - 1);
                    i++;
                    // comment and empty lines inside a continuation are left out
                    while (i < lines.size() && (lines.get(i).isBlank() || lines.get(i).strip().startsWith("#"))) {
                        i++;
                    }
                    if (i >= lines.size()) {
                        break;
                    }
                    line = lines.get(i);
                } else {
                    logical.append(line);
                    i++;
                    break;
                }
            }
            String instruction = logical.toString().strip();
            int sp = firstSpace(instruction);
            String keyword = (sp < 0 ? instruction : instruction.substring(0, sp)).toUpperCase(Locale.ROOT);
            String args = sp < 0 ? "" : instruction.substring(sp).strip();
            List<Instruction.Heredoc> heredocs = List.of();
            if (Set.of("RUN", "COPY", "ADD").contains(keyword) && !args.startsWith("[")) {
                Matcher h = HEREDOC.matcher(args);
                List<Instruction.Heredoc> found = new ArrayList<>();
                while (h.find()) {
                    boolean strip = !h.group(1).isEmpty();
                    String delimiter = h.group(3);
                    StringBuilder content = new StringBuilder();
                    boolean closed = false;
                    while (i < lines.size()) {
                        String l = lines.get(i++);
                        String cmp = strip ? l.replaceFirst("^\t+", "") : l;
                        if (cmp.equals(delimiter)) {
                            closed = true;
                            break;
                        }
                        content.append(cmp).append('\n');
                    }
                    if (!closed) {
                        throw error(name, start, "the here-document <<" + delimiter + " of " + keyword + " never ends;"
                                + " end it with a line '" + delimiter + "'");
                    }
                    found.add(new Instruction.Heredoc(delimiter, content.toString(), h.group(2).isEmpty()));
                }
                heredocs = found;
            }
            out.add(instruction(name, start, keyword, args, escape, heredocs));
        }
        if (out.isEmpty()) {
            throw error(name, 1, "it has no instructions; a Containerfile starts with FROM");
        }
        Instruction head = out.stream().filter(x -> !(x instanceof Instruction.Arg)).findFirst().orElse(null);
        if (!(head instanceof Instruction.From)) {
            throw error(name, head == null ? out.get(0).line() : head.line(), "the first instruction (after ARGs) must"
                    + " be FROM, not " + (head == null ? "nothing" : head.keyword()));
        }
        return new Containerfile(name, directives, escape, out);
    }

    /**
     * An ONBUILD trigger of a base image read as the instruction it is, at {@code line} of {@code name} (the FROM
     * that runs it), as a build FROM that image reads it: not ONBUILD, FROM or MAINTAINER, no here-document.
     *
     * @param name    the Containerfile's name, for errors
     * @param line    the line of the FROM
     * @param trigger the trigger as the image's config has it, e.g. {@code COPY . /app/}
     * @param escape  the Containerfile's escape character
     * @return the instruction
     * @throws DavitException USAGE naming the trigger when it is not one
     */
    public static Instruction trigger(String name, int line, String trigger, char escape) {
        String t = trigger.strip();
        int sp = firstSpace(t);
        String keyword = (sp < 0 ? t : t.substring(0, sp)).toUpperCase(Locale.ROOT);
        if (t.isEmpty() || t.length() > MAX_TRIGGER || t.contains("\n") || Set.of("ONBUILD", "FROM", "MAINTAINER")
                .contains(keyword)) {
            throw error(name, line, "the base image's ONBUILD trigger '" + Text.shorten(Text.printable(t), 60)
                    + "' is not an instruction a build runs; build FROM an image without it");
        }
        return instruction(name, line, keyword, sp < 0 ? "" : t.substring(sp).strip(), escape, List.of());
    }

    private static String stripTrailing(String s) {
        int end = s.length();
        while (end > 0 && Character.isWhitespace(s.charAt(end - 1))) {
            end--;
        }
        return s.substring(0, end);
    }

    private static int firstSpace(String s) {
        for (int k = 0; k < s.length(); k++) {
            if (Character.isWhitespace(s.charAt(k))) {
                return k;
            }
        }
        return -1;
    }

    static DavitException error(String name, int line, String what) {
        return new DavitException(Kind.USAGE, name + ":" + line + ": " + what.replace('\n', ' '));
    }

    private static Instruction instruction(String name, int line, String keyword, String args, char escape,
                                           List<Instruction.Heredoc> heredocs) {
        if (UNSUPPORTED.contains(keyword)) {
            throw error(name, line, keyword + " is not supported by davit; remove it (use LABEL maintainer=...)");
        }
        // only these take --flags: elsewhere a leading "--" is the instruction's own (CMD --help)
        Flags flags = Set.of("FROM", "RUN", "COPY", "ADD", "HEALTHCHECK").contains(keyword) ? Flags.take(args)
                : new Flags(Map.of(), args);
        String rest = flags.rest();
        return switch (keyword) {
            case "FROM" -> {
                flags.only(name, line, keyword, Set.of("platform"));
                List<String> w = Words.split(rest, escape, null);
                if (w.size() == 1) {
                    yield new Instruction.From(line, w.get(0), null, flags.get("platform"));
                }
                if (w.size() == 3 && w.get(1).equalsIgnoreCase("AS")) {
                    String stage = w.get(2).toLowerCase(Locale.ROOT);
                    if (!stage.matches("[a-z][a-z0-9._-]*")) {
                        throw error(name, line, "'" + Text.shorten(w.get(2), 40) + "' is not a stage name; use"
                                + " letters, digits, '.', '_' and '-', starting with a letter");
                    }
                    yield new Instruction.From(line, w.get(0), stage, flags.get("platform"));
                }
                throw error(name, line, "FROM takes an image and optionally 'AS NAME': FROM debian:12 AS build");
            }
            case "RUN" -> {
                flags.only(name, line, keyword, Set.of("network", "mount"));
                String network = flags.get("network");
                if (network != null && !Set.of("none", "default").contains(network)) {
                    throw error(name, line, "RUN with the network '" + Text.shorten(network, 20) + "' is not"
                            + " supported: a step has the build's network, or none (its network option none)");
                }
                List<Instruction.RunMount> mounts = new ArrayList<>();
                for (String m : flags.mounts()) {
                    mounts.add(RunMounts.parse(name, line, m));
                }
                yield new Instruction.Run(line, command(name, line, keyword, rest), heredocs, network, mounts);
            }
            case "HEALTHCHECK" -> {
                flags.only(name, line, keyword, Set.of("interval", "timeout", "start-period", "start-interval",
                        "retries"));
                int space = firstSpace(rest);
                String first = space < 0 ? rest : rest.substring(0, space);
                if (first.equalsIgnoreCase("NONE") && space < 0) {
                    if (!flags.values().isEmpty()) {
                        throw error(name, line, "HEALTHCHECK NONE takes no options");
                    }
                    yield new Instruction.Healthcheck(line, List.of("NONE"), null, null, null, null, null);
                }
                if (!first.equalsIgnoreCase("CMD") || space < 0) {
                    throw error(name, line, "HEALTHCHECK takes CMD and a command, or NONE: HEALTHCHECK --interval=30s"
                            + " CMD curl -f http://localhost/");
                }
                Instruction.Command cmd = command(name, line, keyword, rest.substring(space + 1).strip());
                List<String> test = new ArrayList<>();
                test.add(cmd.exec() ? "CMD" : "CMD-SHELL");
                test.addAll(cmd.args());
                String retries = flags.get("retries");
                if (retries != null && !retries.matches("[0-9]{1,9}")) {
                    throw error(name, line, "HEALTHCHECK --retries takes a number, e.g. --retries=3");
                }
                yield new Instruction.Healthcheck(line, test, duration(name, line, flags, "interval"),
                        duration(name, line, flags, "timeout"), duration(name, line, flags, "start-period"),
                        duration(name, line, flags, "start-interval"), retries == null ? null
                        : Integer.valueOf(retries));
            }
            case "ONBUILD" -> {
                int space = firstSpace(rest);
                String inner = (space < 0 ? rest : rest.substring(0, space)).toUpperCase(Locale.ROOT);
                if (rest.isEmpty() || Set.of("ONBUILD", "FROM", "MAINTAINER").contains(inner)) {
                    throw error(name, line, rest.isEmpty() ? "ONBUILD takes an instruction, e.g. ONBUILD COPY ."
                            + " /app/" : "ONBUILD " + inner + " is not allowed; a trigger is another instruction");
                }
                if (!heredocs.isEmpty()) {
                    throw error(name, line, "ONBUILD takes no here-document; write the trigger on its line");
                }
                // checked now, as a build FROM the image would read it
                instruction(name, line, inner, space < 0 ? "" : rest.substring(space + 1).strip(), escape,
                        List.of());
                yield new Instruction.OnBuild(line, rest);
            }
            case "CMD", "ENTRYPOINT" -> {
                flags.only(name, line, keyword, Set.of());
                yield new Instruction.Exec(line, keyword, command(name, line, keyword, rest));
            }
            case "SHELL" -> {
                flags.only(name, line, keyword, Set.of());
                List<String> json = json(rest);
                if (json == null || json.isEmpty()) {
                    throw error(name, line, "SHELL takes a JSON array, e.g. SHELL [\"/bin/bash\", \"-c\"]");
                }
                yield new Instruction.Shell(line, json);
            }
            case "COPY", "ADD" -> {
                flags.only(name, line, keyword, keyword.equals("COPY") ? Set.of("from", "chown", "chmod", "link",
                        "exclude", "parents") : Set.of("chown", "chmod", "link", "checksum", "exclude"));
                String parents = flags.get("parents");
                if (parents != null && !Set.of("", "true", "false").contains(parents)) {
                    throw error(name, line, "COPY --parents takes no value (or true or false)");
                }
                if (flags.all("exclude").stream().anyMatch(String::isEmpty)) {
                    throw error(name, line, keyword + " --exclude takes a pattern, e.g. --exclude=*.md");
                }
                String checksum = flags.get("checksum");
                if (checksum != null && !checksum.matches("sha256:[0-9a-f]{64}")) {
                    throw error(name, line, "ADD --checksum takes sha256: and 64 lower-case hex digits, e.g."
                            + " --checksum=sha256:" + "0".repeat(64));
                }
                List<String> w = json(rest);
                if (w == null) {
                    w = rawWords(rest, escape);
                }
                if (w.size() < 2) {
                    throw error(name, line, keyword + " takes at least one source and a destination: " + keyword
                            + " src/ /app/");
                }
                yield new Instruction.Copy(line, keyword.equals("ADD"), w.subList(0, w.size() - 1),
                        w.get(w.size() - 1), flags.get("from"), flags.get("chown"), flags.get("chmod"), heredocs,
                        checksum, flags.all("exclude"), parents != null && !parents.equals("false"));
            }
            case "ENV", "LABEL" -> {
                flags.only(name, line, keyword, Set.of());
                yield new Instruction.Pairs(line, keyword, pairs(name, line, keyword, rest, escape));
            }
            case "ARG" -> {
                flags.only(name, line, keyword, Set.of());
                List<Map.Entry<String, String>> args2 = new ArrayList<>();
                for (String word : rawWords(rest, escape)) {
                    int eq = word.indexOf('=');
                    String key = eq < 0 ? word : word.substring(0, eq);
                    checkName(name, line, keyword, key);
                    args2.add(new AbstractMap.SimpleImmutableEntry<>(key, eq < 0 ? null : word.substring(eq + 1)));
                }
                if (args2.isEmpty()) {
                    throw error(name, line, "ARG takes a name, e.g. ARG VERSION=1");
                }
                yield new Instruction.Arg(line, args2);
            }
            case "WORKDIR", "USER", "STOPSIGNAL" -> {
                flags.only(name, line, keyword, Set.of());
                if (rest.isEmpty()) {
                    throw error(name, line, keyword + " takes a value");
                }
                yield new Instruction.Single(line, keyword, rest);
            }
            case "EXPOSE" -> {
                flags.only(name, line, keyword, Set.of());
                List<String> w = rawWords(rest, escape);
                if (w.isEmpty()) {
                    throw error(name, line, "EXPOSE takes a port, e.g. EXPOSE 8080/tcp");
                }
                yield new Instruction.Values(line, keyword, w, false);
            }
            case "VOLUME" -> {
                flags.only(name, line, keyword, Set.of());
                List<String> json = json(rest);
                List<String> w = json != null ? json : rawWords(rest, escape);
                if (w.isEmpty()) {
                    throw error(name, line, "VOLUME takes a path, e.g. VOLUME /data");
                }
                yield new Instruction.Values(line, keyword, w, json != null);
            }
            default -> throw error(name, line, "unknown instruction " + Text.shorten(keyword, 40) + "; davit builds"
                    + " FROM, RUN, COPY, ADD, ENV, ARG, WORKDIR, USER, LABEL, EXPOSE, ENTRYPOINT, CMD, SHELL,"
                    + " STOPSIGNAL, VOLUME, HEALTHCHECK and ONBUILD");
        };
    }

    /**
     * The duration of flag {@code flag} of {@code flags} as Go writes one ({@code 30s}, {@code 1m30s}, {@code 500ms},
     * {@code 1.5h}), at least 1 ms, or null when the flag is not given.
     */
    private static java.time.Duration duration(String name, int line, Flags flags, String flag) {
        String v = flags.get(flag);
        if (v == null) {
            return null;
        }
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("([0-9]+(?:\\.[0-9]+)?)(ns|us|µs|ms|s|m|h)")
                .matcher(v);
        java.math.BigDecimal nanos = java.math.BigDecimal.ZERO;
        int at = 0;
        while (at < v.length() && m.find(at) && m.start() == at) {
            long unit = switch (m.group(2)) {
                case "ns" -> 1L;
                case "us", "µs" -> 1_000L;
                case "ms" -> 1_000_000L;
                case "s" -> 1_000_000_000L;
                case "m" -> 60_000_000_000L;
                default -> 3_600_000_000_000L;
            };
            nanos = nanos.add(new java.math.BigDecimal(m.group(1)).multiply(java.math.BigDecimal.valueOf(unit)));
            at = m.end();
        }
        if (v.isEmpty() || at != v.length() || nanos.compareTo(java.math.BigDecimal.valueOf(1_000_000L)) < 0
                || nanos.compareTo(java.math.BigDecimal.valueOf(Long.MAX_VALUE)) > 0) {
            throw error(name, line, "HEALTHCHECK --" + flag + " takes a duration of at least 1ms, e.g. 30s or 1m30s,"
                    + " not '" + Text.shorten(v, 30) + "'");
        }
        return java.time.Duration.ofNanos(nanos.longValue());
    }

    /** {@code rest} as the exec form (a JSON array of strings) or the shell form. */
    private static Instruction.Command command(String name, int line, String keyword, String rest) {
        List<String> json = json(rest);
        if (json != null) {
            return new Instruction.Command(true, json);
        }
        if (rest.isEmpty() && keyword.equals("RUN")) {
            throw error(name, line, "RUN takes a command");
        }
        return new Instruction.Command(false, List.of(rest));
    }

    /** A JSON array of strings, or null when {@code text} is not one (then it is the shell form). */
    private static List<String> json(String text) {
        if (!text.startsWith("[")) {
            return null;
        }
        JsonNode n;
        try {
            n = Json.read(text.getBytes(StandardCharsets.UTF_8));
        } catch (IOException | RuntimeException e) {
            return null;
        }
        if (!n.isArray()) {
            return null;
        }
        List<String> out = new ArrayList<>();
        for (JsonNode x : n) {
            if (!x.isTextual()) {
                return null;
            }
            out.add(x.asText());
        }
        return out;
    }

    /** White-space separated words, quotes kept (the build removes them as it expands). */
    static List<String> rawWords(String text, char escape) {
        List<String> out = new ArrayList<>();
        StringBuilder w = new StringBuilder();
        char quote = 0;
        for (int k = 0; k < text.length(); k++) {
            char c = text.charAt(k);
            if (quote == 0 && Character.isWhitespace(c)) {
                if (!w.isEmpty()) {
                    out.add(w.toString());
                    w.setLength(0);
                }
                continue;
            }
            if (quote == 0 && (c == '"' || c == '\'')) {
                quote = c;
            } else if (c == quote) {
                quote = 0;
            } else if (c == escape && quote != '\'' && k + 1 < text.length()) {
                w.append(c);
                c = text.charAt(++k);
            }
            w.append(c);
        }
        if (!w.isEmpty()) {
            out.add(w.toString());
        }
        return out;
    }

    /** ENV's and LABEL's pairs: {@code K=V...} (values raw), or the old {@code ENV K V} (the rest is the value). */
    private static List<Map.Entry<String, String>> pairs(String name, int line, String keyword, String rest,
                                                         char escape) {
        List<String> words = rawWords(rest, escape);
        if (words.isEmpty()) {
            throw error(name, line, keyword + " takes NAME=VALUE");
        }
        List<Map.Entry<String, String>> out = new ArrayList<>();
        if (!words.get(0).contains("=")) {
            if (!keyword.equals("ENV") || words.size() < 2) {
                throw error(name, line, keyword + " takes NAME=VALUE pairs, e.g. " + keyword + " A=1 B=\"two words\"");
            }
            checkName(name, line, keyword, words.get(0));
            int sp = firstSpace(rest);
            out.add(new AbstractMap.SimpleImmutableEntry<>(words.get(0), rest.substring(sp).strip()));
            return out;
        }
        for (String w : words) {
            int eq = w.indexOf('=');
            if (eq <= 0) {
                throw error(name, line, keyword + " takes NAME=VALUE pairs; '" + Text.shorten(w, 40) + "' is not one");
            }
            String key = keyword.equals("LABEL") ? Words.one(w.substring(0, eq), escape, null) : w.substring(0, eq);
            if (keyword.equals("ENV")) {
                checkName(name, line, keyword, key);
            }
            out.add(new AbstractMap.SimpleImmutableEntry<>(key, w.substring(eq + 1)));
        }
        return out;
    }

    private static void checkName(String name, int line, String keyword, String key) {
        if (!key.matches("[A-Za-z_][A-Za-z0-9_]*")) {
            throw error(name, line, keyword + " name '" + Text.shorten(key, 40) + "' is not a variable name; use"
                    + " letters, digits and '_'");
        }
    }

    /** The leading {@code --name=value} flags of an instruction's arguments, and what follows them. */
    /** An instruction's {@code --flags}: the last value of each, and every value of each in order. */
    private record Flags(Map<String, String> values, Map<String, List<String>> every, String rest) {
        Flags(Map<String, String> values, String rest) {
            this(values, Map.of(), rest);
        }

        static Flags take(String args) {
            Map<String, String> values = new LinkedHashMap<>();
            Map<String, List<String>> every = new LinkedHashMap<>();
            String rest = args;
            while (rest.startsWith("--")) {
                int sp = firstSpace(rest);
                String flag = sp < 0 ? rest : rest.substring(0, sp);
                int eq = flag.indexOf('=');
                String key = eq < 0 ? flag.substring(2) : flag.substring(2, eq);
                String value = eq < 0 ? "" : flag.substring(eq + 1);
                every.computeIfAbsent(key, k -> new ArrayList<>()).add(value);
                values.put(key, value);
                rest = sp < 0 ? "" : rest.substring(sp).strip();
            }
            return new Flags(values, every, rest);
        }

        /** Every value of a flag that may come again and again ({@code --mount}, {@code --exclude}), in order. */
        List<String> all(String flag) {
            return every.getOrDefault(flag, List.of());
        }

        List<String> mounts() {
            return all("mount");
        }

        String get(String flag) {
            return values.get(flag);
        }

        void only(String name, int line, String keyword, Set<String> allowed) {
            for (String f : values.keySet()) {
                if (!allowed.contains(f)) {
                    throw error(name, line, keyword + " --" + Text.shorten(f, 30) + " is not supported by davit"
                            + (allowed.isEmpty() ? "" : " (" + keyword + " takes --" + String.join(", --",
                            allowed.stream().sorted().toList()) + ")") + "; remove it");
                }
            }
        }
    }
}

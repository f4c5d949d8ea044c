package dev.davit.oci.containerfile;

import dev.davit.oci.DavitException;
import dev.davit.oci.internal.Text;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * What a build of a Containerfile does, before anything runs: its stages, each with its base (an image reference
 * expanded with the global ARGs, {@code scratch}, or an earlier stage) and the stages it copies from; the target stage
 * ({@code --target}, else the last); and only the stages the target needs, in file order (as BuildKit skips the
 * others). ARGs before the first FROM are global: usable in FROM lines, and in a stage that declares them again; a
 * build argument given overrides a default. Build arguments no ARG declares are listed (Docker warns of them).
 *
 * @param stages    the stages to build, in file order, the target last
 * @param target    the target stage
 * @param globals   the global ARGs' values (build arguments over defaults; null: declared without a value)
 * @param unusedArgs build arguments no ARG of the file declares
 */
public record BuildPlan(List<Stage> stages, Stage target, Map<String, String> globals, Set<String> unusedArgs) {
    /** Copies the collections (globals may hold nulls). */
    public BuildPlan {
        stages = List.copyOf(stages);
        globals = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(globals));
        unusedArgs = Set.copyOf(unusedArgs);
    }

    /**
     * One stage: a FROM and the instructions up to the next.
     *
     * @param index        its place among the file's stages, from 0
     * @param name         its {@code AS} name (lower case), or null
     * @param from         its FROM instruction
     * @param base         what it starts from: an image reference (expanded), or {@code scratch}
     * @param baseStage    the index of the earlier stage it starts from, or -1
     * @param instructions its instructions after FROM, in order
     * @param copiesFrom   the indexes of the earlier stages its {@code COPY --from} name
     */
    public record Stage(int index, String name, Instruction.From from, String base, int baseStage,
                        List<Instruction> instructions, List<Integer> copiesFrom) {
        /** Copies the lists. */
        public Stage {
            instructions = List.copyOf(instructions);
            copiesFrom = List.copyOf(copiesFrom);
        }

        /** {@return how errors and progress call it: its name, else its index} */
        public String label() {
            return name != null ? name : Integer.toString(index);
        }
    }

    /**
     * The ARGs every build has, as BuildKit and buildah define them, for this host's platform (davit builds for it
     * alone): {@code TARGETPLATFORM}, {@code TARGETOS}, {@code TARGETARCH}, {@code TARGETVARIANT} and the same four of
     * {@code BUILD}. Their values are in the global scope (a FROM may use them); a stage sees one when it declares
     * it ({@code ARG TARGETARCH}), as any global ARG. A build argument of the same name gives another value.
     *
     * @return the names and values (a variant is empty when the platform has none)
     */
    public static Map<String, String> automaticArgs() {
        dev.davit.oci.manifest.Platform p = dev.davit.oci.manifest.Platform.host();
        String variant = p.variant() == null ? "" : p.variant();
        String platform = p.os() + "/" + p.architecture() + (variant.isEmpty() ? "" : "/" + variant);
        Map<String, String> m = new LinkedHashMap<>();
        for (String who : List.of("TARGET", "BUILD")) {
            m.put(who + "PLATFORM", platform);
            m.put(who + "OS", p.os());
            m.put(who + "ARCH", p.architecture());
            m.put(who + "VARIANT", variant);
        }
        return m;
    }

    /**
     * The plan of building {@code file}'s stage {@code target} (null: the last) with build arguments {@code args}.
     *
     * @param file   the parsed Containerfile
     * @param target a stage's name or index, or null for the last stage
     * @param args   build arguments ({@code --build-arg K=V})
     * @return the plan
     * @throws DavitException USAGE, one line naming the file and line, for a target or a {@code --from} that names no
     *                        earlier stage when it looks like one, a FROM that expands to nothing, two stages of one
     *                        name
     */
    public static BuildPlan of(Containerfile file, String target, Map<String, String> args) {
        Map<String, String> globals = new LinkedHashMap<>();
        automaticArgs().forEach((name, value) -> globals.put(name, args.getOrDefault(name, value)));
        Set<String> declared = new TreeSet<>();
        List<Stage> all = new ArrayList<>();
        Map<String, Stage> byName = new HashMap<>();
        List<Instruction> list = file.instructions();
        int k = 0;
        for (; k < list.size() && list.get(k) instanceof Instruction.Arg arg; k++) {
            for (Map.Entry<String, String> a : arg.args()) {
                declared.add(a.getKey());
                String value = args.containsKey(a.getKey()) ? args.get(a.getKey())
                        : a.getValue() == null ? null : Words.one(a.getValue(), file.escape(), globals::get);
                globals.put(a.getKey(), value);
            }
        }
        while (k < list.size()) {
            Instruction.From from = (Instruction.From) list.get(k++);
            List<Instruction> body = new ArrayList<>();
            while (k < list.size() && !(list.get(k) instanceof Instruction.From)) {
                body.add(list.get(k++));
            }
            String base = Words.one(from.image(), file.escape(), globals::get);
            if (base.isEmpty()) {
                throw Containerfile.error(file.name(), from.line(), "FROM " + Text.shorten(from.image(), 60)
                        + " is empty once expanded; give the ARG a value (a build argument or a default)");
            }
            Stage baseStage = byName.get(base.toLowerCase(Locale.ROOT));
            List<Integer> copies = new ArrayList<>();
            for (Instruction i : body) {
                if (i instanceof Instruction.Arg arg) {
                    arg.args().forEach(a -> declared.add(a.getKey()));
                }
                List<String> froms = new ArrayList<>();
                if (i instanceof Instruction.Copy c && c.from() != null) {
                    froms.add(c.from());
                }
                if (i instanceof Instruction.Run r) { // RUN --mount=from=STAGE reads that stage as COPY --from does
                    r.mounts().stream().map(m -> m.options().get("from")).filter(java.util.Objects::nonNull)
                            .forEach(froms::add);
                }
                for (String f : froms) {
                    Stage s = stage(f, byName, all);
                    if (s != null && !copies.contains(s.index())) {
                        copies.add(s.index());
                    }
                }
            }
            Stage stage = new Stage(all.size(), from.name(), from, baseStage != null ? baseStage.base() : base,
                    baseStage != null ? baseStage.index() : -1, body, copies);
            if (from.name() != null && byName.put(from.name(), stage) != null) {
                throw Containerfile.error(file.name(), from.line(), "a second stage is named " + from.name()
                        + "; give each stage its own name");
            }
            all.add(stage);
        }
        Stage goal;
        if (target == null) {
            goal = all.get(all.size() - 1);
        } else {
            goal = stage(target, byName, all);
            if (goal == null) {
                throw new DavitException(DavitException.Kind.USAGE, file.name() + " has no stage "
                        + Text.printable(target) + "; its stages: " + String.join(", ", all.stream().map(
                        Stage::label).toList()));
            }
        }
        Set<Integer> needed = new java.util.HashSet<>();
        need(goal.index(), all, needed);
        List<Stage> ordered = all.stream().filter(x -> needed.contains(x.index())).toList();
        Set<String> unused = new TreeSet<>(args.keySet());
        unused.removeAll(declared);
        return new BuildPlan(ordered, goal, globals, unused);
    }

    /** The stage {@code ref} names (a name, or an index among those before), or null: an image. */
    private static Stage stage(String ref, Map<String, Stage> byName, List<Stage> before) {
        Stage named = byName.get(ref.toLowerCase(Locale.ROOT));
        if (named != null) {
            return named;
        }
        if (ref.matches("[0-9]{1,4}")) {
            int i = Integer.parseInt(ref);
            if (i < before.size()) {
                return before.get(i);
            }
        }
        return null;
    }

    /** Marks stage {@code i} and what it needs (iteratively: a file of many stages is no deep recursion). */
    private static void need(int i, List<Stage> all, Set<Integer> into) {
        java.util.ArrayDeque<Integer> todo = new java.util.ArrayDeque<>(List.of(i));
        while (!todo.isEmpty()) {
            int s = todo.pop();
            if (into.add(s)) {
                Stage st = all.get(s);
                if (st.baseStage() >= 0) {
                    todo.push(st.baseStage());
                }
                st.copiesFrom().forEach(todo::push);
            }
        }
    }
}

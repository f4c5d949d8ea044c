package dev.davit.oci.auth;

import dev.davit.oci.DavitException;
import dev.davit.oci.internal.Text;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.SortedSet;
import java.util.TreeSet;
import java.util.stream.Collectors;

/**
 * One resource scope of the distribution token protocol, {@code type:name:action[,action...]}, such as
 * {@code repository:library/alpine:pull} or {@code repository:team/app:pull,push}.
 *
 * @param type    the resource type, e.g. {@code repository} or {@code registry}
 * @param name    the resource name, e.g. a repository path (without the registry host)
 * @param actions the actions, sorted and unmodifiable, e.g. {@code [pull, push]}
 */
public record Scope(String type, String name, SortedSet<String> actions) {

    /** The resource type of repositories. */
    public static final String REPOSITORY = "repository";
    /** The action to read. */
    public static final String PULL = "pull";
    /** The action to write. */
    public static final String PUSH = "push";

    /**
     * Validates and copies the parts.
     *
     * @throws DavitException of kind AUTH if the type is not {@code [a-z0-9]+} (optionally with a
     *                        parenthesised class), the name is empty or holds spaces or control characters, or
     *                        an action is not {@code [a-z]+} or {@code *}, or there are no actions
     */
    public Scope {
        if (type == null || !type.matches("[a-z0-9]+(\\([a-z0-9]+\\))?")) {
            throw invalid("resource type '" + Text.shorten(type, 40) + "' is not lower-case letters and digits");
        }
        if (name == null || name.isEmpty() || !name.chars().allMatch(c -> c > 0x20 && c != 0x7f)) {
            throw invalid("resource name '" + Text.shorten(name, 80) + "' is empty or has spaces");
        }
        if (actions == null || actions.isEmpty()) {
            throw invalid("scope for '" + Text.shorten(name, 80) + "' has no actions");
        }
        TreeSet<String> copy = new TreeSet<>();
        for (String a : actions) {
            if (a == null || !(a.equals("*") || a.matches("[a-z]+"))) {
                throw invalid("action '" + Text.shorten(a, 40) + "' is not lower-case letters or '*'");
            }
            copy.add(a);
        }
        actions = Collections.unmodifiableSortedSet(copy);
    }

    /**
     * {@return the scope {@code repository:<name>:<actions>}}
     *
     * @param name the repository path without the registry host, e.g. {@code library/alpine}
     * @param actions the actions, e.g. {@link #PULL}; at least one
     * @throws DavitException of kind AUTH if the name or an action is malformed, or there are no actions
     */
    public static Scope repository(String name, String... actions) {
        return new Scope(REPOSITORY, name, new TreeSet<>(Arrays.asList(actions)));
    }

    /**
     * {@return the scope {@code repository:<name>:pull}}
     *
     * @param repository the repository path without the registry host, e.g. {@code library/alpine}
     * @throws DavitException of kind AUTH if the name is malformed
     */
    public static Scope pull(String repository) {
        return repository(repository, PULL);
    }

    /**
     * {@return the scope {@code repository:<name>:pull,push}}
     *
     * @param repository the repository path without the registry host
     * @throws DavitException of kind AUTH if the name is malformed
     */
    public static Scope pullPush(String repository) {
        return repository(repository, PULL, PUSH);
    }

    /**
     * Parses one scope {@code type:name:actions}. The name may itself contain {@code ':'} (the type ends at
     * the first colon, the actions start after the last).
     *
     * @param text the scope, e.g. {@code repository:library/alpine:pull}
     * @return the parsed scope
     * @throws DavitException of kind AUTH if malformed
     */
    public static Scope parse(String text) {
        int first = text == null ? -1 : text.indexOf(':');
        int last = text == null ? -1 : text.lastIndexOf(':');
        if (first < 0 || last == first) {
            throw invalid("'" + Text.shorten(text, 100) + "' is not of the form type:name:actions");
        }
        List<String> actions = Arrays.asList(text.substring(last + 1).split(",", -1));
        return new Scope(text.substring(0, first), text.substring(first + 1, last), new TreeSet<>(actions));
    }

    /**
     * Parses a space-separated list of scopes, as in a challenge's {@code scope} parameter; empty or blank
     * text gives an empty list.
     *
     * @param text the scopes separated by spaces or tabs; null gives an empty list
     * @return the scopes in text order, unmerged
     * @throws DavitException of kind AUTH if any scope is malformed
     */
    public static List<Scope> parseAll(String text) {
        List<Scope> out = new ArrayList<>();
        if (text != null) {
            for (String part : text.trim().split("[ \t]+")) {
                if (!part.isEmpty()) {
                    out.add(parse(part));
                }
            }
        }
        return List.copyOf(out);
    }

    /**
     * Merges scopes for the same type and name into one with the union of their actions, sorted by type and
     * name: {@code [repository:a:pull, repository:a:push]} becomes {@code [repository:a:pull,push]}.
     *
     * @param scopes the scopes to merge, in any order
     * @return one scope per resource, sorted; empty for none
     */
    public static List<Scope> merge(Collection<Scope> scopes) {
        Map<List<String>, TreeSet<String>> byResource = new LinkedHashMap<>();
        for (Scope s : scopes) {
            byResource.computeIfAbsent(List.of(s.type, s.name), k -> new TreeSet<>()).addAll(s.actions);
        }
        return byResource.entrySet().stream()
                .map(e -> new Scope(e.getKey().get(0), e.getKey().get(1), e.getValue()))
                .sorted((a, b) -> a.type.equals(b.type) ? a.name.compareTo(b.name) : a.type.compareTo(b.type))
                .toList();
    }

    /**
     * The canonical scope string for a token request or a {@link TokenCache.Key}: the {@link #merge merged}
     * scopes joined by single spaces; {@code ""} for none.
     *
     * @param scopes the scopes, in any order
     * @return the canonical string, the same for any order or split of the same scopes
     */
    public static String format(Collection<Scope> scopes) {
        return merge(scopes).stream().map(Scope::toString).collect(Collectors.joining(" "));
    }

    /**
     * {@return whether this scope grants everything {@code other} asks for (same resource, a superset of actions)}
     * The action {@code *} covers every action.
     *
     * @param other the scope asked for; not null
     */
    public boolean covers(Scope other) {
        Objects.requireNonNull(other, "other");
        return type.equals(other.type) && name.equals(other.name)
                && (actions.contains("*") || actions.containsAll(other.actions));
    }

    /**
     * {@return this scope with the union of its actions and {@code more}}
     *
     * @param more the actions to add
     * @throws DavitException of kind AUTH if an added action is malformed
     */
    public Scope withActions(Set<String> more) {
        TreeSet<String> all = new TreeSet<>(actions);
        all.addAll(more);
        return new Scope(type, name, all);
    }

    /** {@code type:name:action[,action...]}. */
    @Override
    public String toString() {
        return type + ":" + name + ":" + String.join(",", actions);
    }

    private static DavitException invalid(String problem) {
        return new DavitException(DavitException.Kind.AUTH, "invalid token scope: " + problem
                + "; scopes look like repository:name:pull,push");
    }
}
